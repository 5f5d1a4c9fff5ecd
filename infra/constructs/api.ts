import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CfnStage,
  DomainName,
  HttpApi,
  HttpMethod,
  HttpRoute,
  HttpRouteKey,
  LogGroupLogDestination,
  SecurityPolicy,
  type HttpStage,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { routeKey, type RouteDefinition, type RouteFunction } from '#shared/runtime/routes.ts';
import { SETTINGS } from '#shared/runtime/settings.ts';

interface ApiThrottling {
  /** Requests per second, averaged over time. */
  readonly rateLimit: number;
  /** Requests allowed in a burst above the rate. */
  readonly burstLimit: number;
}

const DEFAULT_API_THROTTLING: ApiThrottling = {
  rateLimit: SETTINGS.apiRateLimit.default,
  burstLimit: SETTINGS.apiBurstLimit.default,
};

const DEFAULT_OPERATOR_THROTTLING: ApiThrottling = {
  rateLimit: SETTINGS.adminRateLimit.default,
  burstLimit: SETTINGS.adminBurstLimit.default,
};

export interface WebhookApiProps {
  /** The stage's throttle: the public routes' and the catch-all's. @default - the apiRateLimit and apiBurstLimit settings' defaults (100, 200) */
  readonly throttling?: ApiThrottling;
  /** Each operator route's own throttle (route settings), so public traffic never throttles a publish. @default - the adminRateLimit and adminBurstLimit settings' defaults (100, 200) */
  readonly operatorThrottling?: ApiThrottling;
  /**
   * A custom domain for the API, with its ACM certificate (in the stack's region): the API's URL
   * (and so the JWT issuer) then belongs to the operator, not to this API's id, and survives any
   * future move to another stack.
   * @default - none: the API's own execute-api URL
   */
  readonly customDomain?: { readonly domainName: string; readonly certificateArn: string };
  /** How long access logs are kept. @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the access log group when it leaves the stack. @default RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE */
  readonly removalPolicy?: RemovalPolicy;
}

/** One line of JSON per request. No header is logged, so API keys never reach the logs. */
const ACCESS_LOG_FORMAT = AccessLogFormat.custom(
  JSON.stringify({
    requestId: '$context.requestId',
    time: '$context.requestTime',
    ip: '$context.identity.sourceIp',
    userAgent: '$context.identity.userAgent',
    routeKey: '$context.routeKey',
    path: '$context.path',
    status: '$context.status',
    responseLength: '$context.responseLength',
    responseLatency: '$context.responseLatency',
    integrationLatency: '$context.integrationLatency',
    integrationError: '$context.integrationErrorMessage',
    error: '$context.error.message',
  }),
);

/** Why a route without an API Gateway authorizer is fine, for cdk-nag. */
const PUBLIC_ROUTE_REASONS: Record<Exclude<RouteFunction, 'admin'> | 'public', string> = {
  api: "Organization routes are authenticated by the api function (Bearer API key, stored hashed, compared in constant time) so that a refusal keeps Lago's 401 error shape.",
  public:
    'The OpenAPI document route serves a public description of the API (no data, no secret), generated from the route table; every other /api route checks the API key.',
  console:
    "The console route serves only the public static files of the web console (no data, no secret); the console then calls the /api/v1 routes with the organization's API key.",
};

/**
 * The HTTP API (payload v2) on its `$default` stage, with access logs and throttling. The routes
 * are added from ROUTES in shared/runtime/routes.ts, the table the local gateway serves too.
 */
export class WebhookApi extends Construct {
  readonly httpApi: HttpApi;
  readonly stage: HttpStage;
  private readonly operatorThrottling: ApiThrottling;
  /** The base URL, without a trailing slash: Lago's `iss` and what clients call; the custom domain's when there is one. */
  readonly url: string;
  /** With a custom domain: the regional name its DNS record points at. */
  readonly domainTarget?: string;

  constructor(scope: Construct, id: string, props: WebhookApiProps = {}) {
    super(scope, id);
    this.httpApi = new HttpApi(this, 'HttpApi', {
      description: 'Lago-compatible webhooks: /api/v1 for organizations, /admin/v1 for the operator',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE,
    });
    const throttling = props.throttling ?? DEFAULT_API_THROTTLING;
    this.operatorThrottling = props.operatorThrottling ?? DEFAULT_OPERATOR_THROTTLING;
    const domain = props.customDomain && this.domain(props.customDomain);
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit: throttling.rateLimit, burstLimit: throttling.burstLimit },
      accessLogSettings: { destination: new LogGroupLogDestination(accessLogs), format: ACCESS_LOG_FORMAT },
      ...(domain ? { domainMapping: { domainName: domain } } : {}),
    });
    this.url = domain ? `https://${props.customDomain?.domainName}` : this.httpApi.apiEndpoint;
    this.domainTarget = domain?.regionalDomainName;
  }

  /** The custom domain (regional, TLS 1.2 at least), on the operator's certificate. */
  private domain({ domainName, certificateArn }: { domainName: string; certificateArn: string }): DomainName {
    return new DomainName(this, 'Domain', {
      domainName,
      certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', certificateArn),
      securityPolicy: SecurityPolicy.TLS_1_2,
    });
  }

  /**
   * Adds one route per definition. Operator routes (`admin`) require SigV4 (IAM); organization
   * routes (`api`) have no API Gateway authorizer: the handler checks the Bearer API key, so a
   * refusal keeps Lago's error shape.
   */
  addRoutes(routes: readonly RouteDefinition[], handlers: Record<RouteFunction, lambda.IFunction>): void {
    const integrations: Record<RouteFunction, HttpLambdaIntegration> = {
      api: new HttpLambdaIntegration('ApiIntegration', handlers.api),
      admin: new HttpLambdaIntegration('AdminIntegration', handlers.admin),
      console: new HttpLambdaIntegration('ConsoleIntegration', handlers.console),
    };
    const iamAuthorizer = new HttpIamAuthorizer();
    // Anything no route matches reaches the api function, which answers Lago's 404 shape.
    const fallback = new HttpRoute(this, 'DefaultRoute', {
      httpApi: this.httpApi,
      routeKey: HttpRouteKey.DEFAULT,
      integration: integrations.api,
    });
    Validations.of(fallback).acknowledge({
      id: 'AwsSolutions-APIG4',
      reason: 'The catch-all route only answers a Lago-shaped 404 from the api function; it reads and changes nothing.',
    });
    const operatorRoutes: HttpRoute[] = [];
    for (const route of routes) {
      const operator = route.fn === 'admin';
      const [created] = this.httpApi.addRoutes({
        path: route.path,
        methods: [HttpMethod[route.method]],
        integration: integrations[route.fn],
        authorizer: operator ? iamAuthorizer : undefined,
      });
      if (!created) continue;
      if (route.fn === 'admin') operatorRoutes.push(created);
      else
        Validations.of(created).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason: PUBLIC_ROUTE_REASONS[route.public ? 'public' : route.fn],
        });
    }
    this.throttleOperatorRoutes(routes.filter((route) => route.fn === 'admin').map(routeKey), operatorRoutes);
  }

  /**
   * Gives each operator route a throttle of its own (the stage's route settings), apart from the
   * stage's, which the public routes share: anyone flooding /api/v1 cannot get a publish answered 429.
   */
  private throttleOperatorRoutes(keys: readonly string[], created: readonly HttpRoute[]): void {
    const stage = this.stage.node.defaultChild as CfnStage;
    // A JSON property: CloudFormation's own casing, which CDK passes through as it is.
    stage.routeSettings = Object.fromEntries(
      keys.map((key) => [
        key,
        {
          ThrottlingRateLimit: this.operatorThrottling.rateLimit,
          ThrottlingBurstLimit: this.operatorThrottling.burstLimit,
        },
      ]),
    );
    // API Gateway refuses settings for a route key that does not exist yet.
    for (const route of created) stage.node.addDependency(route);
  }

  /** Allows calling exactly these routes (SigV4), e.g. for the operator's IAM users and roles. */
  invokeStatement(routes: readonly RouteDefinition[]): iam.PolicyStatement {
    return new iam.PolicyStatement({
      actions: ['execute-api:Invoke'],
      resources: routes.map((route) => this.httpApi.arnForExecuteApi(route.method, route.path, '$default')),
    });
  }
}

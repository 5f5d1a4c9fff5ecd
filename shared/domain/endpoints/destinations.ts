/**
 * AWS destinations: an endpoint whose `webhook_url` is the ARN of an SQS queue or an EventBridge
 * bus, delivered by assuming the customer's role (`aws_role_arn`), so no secret of theirs is
 * stored. Which roles may be assumed is the deployment's allow-list (WEBHOOK_AWS_DESTINATION_ROLES),
 * checked when an endpoint is written and again on every delivery. Locally, a queue of the SQS
 * emulator needs no role.
 */

/** An AWS destination, read from its ARN. */
export type AwsTarget =
  | { service: 'sqs'; arn: string; region: string; accountId: string; queueName: string; fifo: boolean }
  | { service: 'events'; arn: string; region: string; accountId: string; busName: string };

/** Which destinations a deployment delivers to. */
export interface AwsDestinationPolicy {
  /** Role ARN patterns (`*` any run of characters) the senders may assume; none: AWS destinations are off. */
  roles: readonly string[];
  /**
   * The local SQS emulator's region and account: its queues are delivered to without a role, but
   * for this service's own (its lanes and dead letters), which are refused. @default - none (AWS)
   */
  local?: { region: string; accountId: string; ownQueues: readonly string[] };
}

const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d';
const ACCOUNT = '\\d{12}';
// SQS: up to 80 characters, `.fifo` included; EventBridge: up to 256 of [/.-_A-Za-z0-9] (partner buses have a slash).
const SQS_ARN = new RegExp(
  `^arn:aws:sqs:(${REGION}):(${ACCOUNT}):((?:[A-Za-z0-9_-]{1,75}\\.fifo)|[A-Za-z0-9_-]{1,80})$`,
);
const BUS_ARN = new RegExp(`^arn:aws:events:(${REGION}):(${ACCOUNT}):event-bus/([A-Za-z0-9._/-]{1,256})$`);
// IAM: a path of segments, then a name of up to 64 characters.
const ROLE_ARN = new RegExp(`^arn:aws:iam::(${ACCOUNT}):role/((?:[\\w+=,.@-]+/)*[\\w+=,.@-]{1,64})$`);
const MAX_ROLE_ARN_LENGTH = 2048;

/** Whether a `webhook_url` is meant as an ARN rather than a URL. */
export const isArn = (value: string): boolean => value.startsWith('arn:');

/** The destination an ARN names, or undefined when it is not an SQS queue's or an EventBridge bus's. */
export function parseAwsTarget(arn: string): AwsTarget | undefined {
  const queue = SQS_ARN.exec(arn);
  if (queue) {
    const [, region, accountId, queueName] = queue as unknown as [string, string, string, string];
    return { service: 'sqs', arn, region, accountId, queueName, fifo: queueName.endsWith('.fifo') };
  }
  const bus = BUS_ARN.exec(arn);
  if (bus) {
    const [, region, accountId, busName] = bus as unknown as [string, string, string, string];
    return { service: 'events', arn, region, accountId, busName };
  }
  return undefined;
}

/** Whether a role ARN is well formed. */
export const isRoleArn = (value: string): boolean => value.length <= MAX_ROLE_ARN_LENGTH && ROLE_ARN.test(value);

/** A queue of the local SQS emulator: delivered to straight, with no role. */
export const isLocalTarget = (policy: AwsDestinationPolicy, target: AwsTarget): boolean =>
  target.service === 'sqs' &&
  policy.local !== undefined &&
  target.region === policy.local.region &&
  target.accountId === policy.local.accountId;

/** One of this service's own queues on the local emulator: never a destination (as its own ports are never a URL). */
export const isOwnQueue = (policy: AwsDestinationPolicy, target: AwsTarget): boolean =>
  isLocalTarget(policy, target) &&
  target.service === 'sqs' &&
  (policy.local?.ownQueues ?? []).includes(target.queueName);

const patternOf = (pattern: string) =>
  new RegExp(
    `^${pattern
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );

/** Whether the allow-list lets the senders assume this role. */
export const roleAllowed = (policy: AwsDestinationPolicy, roleArn: string): boolean =>
  policy.roles.some((pattern) => patternOf(pattern).test(roleArn));

/** Why a destination and its role cannot be used, by field, as Lago's codes; none when they can. */
export type DestinationRefusal =
  | { field: 'webhook_url'; code: 'aws_destinations_are_not_enabled' | 'address_is_this_service' }
  | { field: 'aws_role_arn'; code: 'value_is_mandatory' | 'value_is_invalid' | 'role_is_not_allowed' };

/**
 * The rules between `webhook_url` and `aws_role_arn`: a URL takes no role; a local queue needs
 * none (and takes none); any other ARN needs a role the allow-list names.
 */
export function destinationRefusal(
  policy: AwsDestinationPolicy,
  webhookUrl: string,
  roleArn: string | null,
): DestinationRefusal | undefined {
  const target = isArn(webhookUrl) ? parseAwsTarget(webhookUrl) : undefined;
  if (!target) return roleArn === null ? undefined : { field: 'aws_role_arn', code: 'value_is_invalid' };
  if (isOwnQueue(policy, target)) return { field: 'webhook_url', code: 'address_is_this_service' };
  if (isLocalTarget(policy, target))
    return roleArn === null ? undefined : { field: 'aws_role_arn', code: 'value_is_invalid' };
  if (policy.roles.length === 0) return { field: 'webhook_url', code: 'aws_destinations_are_not_enabled' };
  if (roleArn === null) return { field: 'aws_role_arn', code: 'value_is_mandatory' };
  return roleAllowed(policy, roleArn) ? undefined : { field: 'aws_role_arn', code: 'role_is_not_allowed' };
}

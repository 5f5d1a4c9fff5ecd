import { appendFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DETAIL_TYPES,
  eventTime,
  OPERATIONAL_EVENT_SOURCE,
  operationalDetail,
} from '../domain/endpoints/operational-events.ts';
import type { OperationalEvent, OperationalEvents } from '../domain/ports.ts';

const OPERATIONAL_EVENTS_FILE = 'operational-events.jsonl';

/**
 * Local mode's operational events: one JSON line each in DATA_DIR/operational-events.jsonl
 * (owner-only), shaped like the EventBridge event an AWS deployment puts on its default bus.
 */
export class FileOperationalEvents implements OperationalEvents {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = join(dataDir, OPERATIONAL_EVENTS_FILE);
  }

  async emit(event: OperationalEvent): Promise<void> {
    const line = {
      source: OPERATIONAL_EVENT_SOURCE,
      'detail-type': DETAIL_TYPES[event.type],
      time: eventTime(event),
      detail: operationalDetail(event),
    };
    // One write per line (O_APPEND): concurrent senders never interleave within a line.
    await appendFile(this.file, `${JSON.stringify(line)}\n`, { encoding: 'utf8', mode: 0o600 });
    // The mode applies when the file is created; a file from elsewhere is tightened too.
    await chmod(this.file, 0o600);
  }
}

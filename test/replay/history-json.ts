// Temporal history <-> proto JSON (the format of `temporal workflow show --output json` and the Web
// UI's download), for the replay fixtures. @temporalio/common's historyToJSON/historyFromJSON throw
// "type must be a Type" with this install: npm gave @temporalio/common and @temporalio/proto each a
// nested copy of protobufjs 8, and protojson from one copy does not recognise the types of the other.
// Resolving protojson next to @temporalio/proto uses the copy its types were built with, and keeps
// working once the copies are deduplicated.
import { createRequire } from 'node:module';
import proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root.js';

export type History = proto.temporal.api.history.v1.IHistory;

interface ProtoJson {
  toJson(type: unknown, message: unknown): unknown;
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): unknown;
}

const requireFromProto = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const protojson = requireFromProto('protobufjs/ext/protojson') as ProtoJson;
const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
  'temporal.api.history.v1.History',
);

/** The history as pretty-printed proto JSON text. */
export function historyToJsonText(history: History): string {
  const message = proto.temporal.api.history.v1.History.fromObject(history);
  return `${JSON.stringify(protojson.toJson(historyType, message), null, 2)}\n`;
}

/** A history read back from proto JSON, ready for `Worker.runReplayHistories`. */
export function historyFromJsonText(text: string): History {
  return protojson.fromJson(historyType, JSON.parse(text), { ignoreUnknownFields: true }) as History;
}

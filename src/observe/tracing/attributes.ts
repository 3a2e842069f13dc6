/**
 * Span attributes from a request's record: OpenTelemetry's semantic conventions where one fits
 * (`http.request.method`, `url.path`, `enduser.id`, `messaging.*`), `gatehouse.*` for decisions.
 * Like the audit line they hold who and what was decided, never a credential.
 */
import type { Attributes } from '@opentelemetry/api';
import type { RequestRecord } from '../events.js';

function put(a: Attributes, key: string, value: string | number | boolean | undefined): void {
  if (value !== undefined) a[key] = value;
}

function identityAttributes(a: Attributes, record: RequestRecord): void {
  const id = record.identity;
  if (id === undefined) return;
  a['enduser.id'] = id.subject;
  put(a, 'gatehouse.identity.client_id', id.clientId);
  put(a, 'gatehouse.identity.tenant', id.tenant);
  a['gatehouse.identity.provider'] = id.provider;
  a['gatehouse.identity.auth_method'] = id.authMethod;
}

export function requestAttributes(record: RequestRecord): Attributes {
  const a: Attributes = {
    'http.request.method': record.method,
    'url.path': record.path,
    'server.address': record.host,
    'client.address': record.clientAddress,
    'http.response.status_code': record.status,
    'gatehouse.request_id': record.requestId,
  };
  put(a, 'gatehouse.route', record.route);
  put(a, 'error.type', record.error);
  grpcAttributes(a, record);
  identityAttributes(a, record);
  return a;
}

/** A gRPC call's status (OpenTelemetry's RPC conventions), on the request span and the upstream span. */
function grpcAttributes(a: Attributes, record: RequestRecord): void {
  if (record.grpcStatus === undefined) return;
  a['rpc.system'] = 'grpc';
  a['rpc.grpc.status_code'] = record.grpcStatus;
}

export function stageAttributes(stage: string, record: RequestRecord): Attributes {
  const a: Attributes = {};
  put(a, 'gatehouse.route', record.route);
  switch (stage) {
    case 'authenticate':
      a['gatehouse.authn.result'] = record.authn.result;
      put(a, 'gatehouse.authn.provider', record.authn.provider);
      put(a, 'gatehouse.authn.reason', record.authn.reason);
      identityAttributes(a, record);
      break;
    case 'authorize':
      if (record.decision !== undefined) {
        a['gatehouse.decision'] = record.decision.allow ? 'allow' : 'deny';
        a['gatehouse.decision.reason'] = record.decision.reason;
        put(a, 'gatehouse.decision.rule', record.decision.rule);
      }
      break;
    case 'limit':
      if (record.limit !== undefined) {
        a['gatehouse.limit.result'] = record.limit.result;
        put(a, 'gatehouse.limit.name', record.limit.name);
      }
      break;
    case 'outbound':
      if (record.credentials !== undefined) a['gatehouse.credentials'] = record.credentials.map((c) => c.kind).join(',');
      break;
    case 'upstream':
      put(a, 'gatehouse.upstream', record.upstream);
      put(a, 'url.path', record.upstreamPath);
      put(a, 'http.response.status_code', record.upstreamStatus);
      put(a, 'error.type', record.error);
      grpcAttributes(a, record);
      if (record.message !== undefined) {
        a['messaging.destination.name'] = record.message.destination;
        a['messaging.message.id'] = record.message.id;
      }
      break;
    default:
  }
  return a;
}

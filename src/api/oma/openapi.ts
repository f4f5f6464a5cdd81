/**
 * The REST door as an OpenAPI 3.1 document, built from the route table (so it lists exactly what
 * the door serves; a test checks it) plus the session start and the shared components. Served at
 * `GET /oma/openapi.json`; PROTOCOL.md has the prose and the examples.
 */
import { OMA_ERROR_CODES } from './errors.ts';
import { allRoutes } from './routes.ts';

const SESSION_HEADERS = [
  { name: 'X-Session-ID', in: 'header', required: true, schema: { type: 'string' }, description: 'sessionId from reg_srv' },
  { name: 'X-Client-ID', in: 'header', required: true, schema: { type: 'string' }, description: 'clientId from reg_srv' },
];

const STATUS_OF: Record<string, string> = { POST: '201', GET: '200', PUT: '200', DELETE: '204' };

/** `{sid}` style path of a route pattern. */
export function openApiPath(pattern: string): string {
  return pattern.replace(/:([A-Za-z]+)/g, '{$1}');
}

export function openApiDocument(serverUrl: string): object {
  const paths: Record<string, Record<string, unknown>> = {
    '/webrtc': { get: { summary: 'INIT: 303 to the login page with a state', responses: { '303': { description: 'See Other (Location: login URL)' } } } },
    '/reg_srv': {
      get: {
        summary: 'REG_SRV: trade the login for a gateway session; 303 with sessionId and clientId in Location',
        parameters: ['code', 'state', 'session_num', 'user_id'].map((name) => ({ name, in: 'query', required: name === 'state', schema: { type: 'string' } })),
        responses: { '303': { description: 'See Other (Location: app?clientId=…&sessionId=…&nodeFqdn=…)' }, '401': { $ref: '#/components/responses/Error' } },
      },
    },
  };
  for (const r of allRoutes()) {
    const path = openApiPath(r.pattern);
    const params = [...r.pattern.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    let ok = STATUS_OF[r.method] ?? '200';
    if (r.pattern.endsWith('/registration') || r.pattern.endsWith('/notifications')) ok = '200';
    if (r.pattern.endsWith('/status') && r.pattern.includes('/oneToOne/')) ok = '204';
    const op: Record<string, unknown> = {
      summary: r.summary,
      parameters: [...params, ...SESSION_HEADERS],
      responses: { [ok]: { description: ok === '201' ? 'Created (Location, resourceURL)' : ok === '204' ? 'No Content' : 'OK' }, default: { $ref: '#/components/responses/Error' } },
    };
    if (r.method === 'POST' || r.method === 'PUT') op.requestBody = { required: !r.pattern.endsWith('/notifications'), content: { 'application/json': { schema: { type: 'object' } } } };
    (paths[path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Portico REST door (OMA/GSMA-style WebRTC API)',
      version: '1.0.0',
      description: 'Notification Channel (OMA-NC 1.0, WebSockets and long polling), RACM lines and registration, capability discovery, VVoIP calls and OMA Chat 1-to-1 over a gateway session. See PROTOCOL.md.',
    },
    servers: [{ url: serverUrl }],
    paths,
    components: {
      responses: { Error: { description: 'OMA requestError', content: { 'application/json': { schema: { $ref: '#/components/schemas/RequestError' } } } } },
      schemas: {
        RequestError: {
          type: 'object',
          properties: {
            requestError: {
              type: 'object',
              properties: {
                serviceException: { $ref: '#/components/schemas/Exception' },
                policyException: { $ref: '#/components/schemas/Exception' },
              },
            },
          },
        },
        Exception: {
          type: 'object',
          required: ['messageId', 'text'],
          properties: {
            messageId: { type: 'string', enum: [...new Set(Object.values(OMA_ERROR_CODES).map((e) => e.messageId))] },
            text: { type: 'string' },
            variables: { type: 'array', items: { type: 'string' } },
          },
        },
      },
    },
  };
}

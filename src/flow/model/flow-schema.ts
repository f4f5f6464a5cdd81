import { z } from 'zod';

/**
 * The YAML flow file, validated with zod. A flow is a list of steps run in order by every emulated
 * client; `serve` blocks on steps describe what the network host (`portico flow serve`) answers.
 * The shapes are documented with examples in src/flow/README.md.
 */

const duration = z.union([z.number().nonnegative(), z.string().regex(/^\s*\d+(?:\.\d+)?\s*(ms|s|m|h)?\s*$/, 'expected a duration such as 250ms, 5s, 2m')]);
const scalar = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const fillerName = z.string().regex(/^[a-z][a-z0-9.\-_]*$/, 'filler names are lower-case: letters, digits, "-", "." and "_"');

/** A condition over a body or a WebSocket frame. With only `json`, the value must exist. */
export const matchSchema = z.strictObject({
  json: z.string().optional(),
  equals: scalar.optional(),
  'not-equals': scalar.optional(),
  exists: z.boolean().optional(),
  regex: z.string().optional(),
  contains: z.string().optional(),
  'one-of': z.array(scalar).optional(),
});
export type MatchSpec = z.infer<typeof matchSchema>;
const matchList = z.union([matchSchema, z.array(matchSchema)]);

/** Where a filler's value is taken from (reference §2.4). A bare string is a JSON pointer. */
export const extractRuleSchema = z.union([
  z.string().startsWith('/'),
  z.strictObject({
    json: z.string().optional(),
    else: z.union([z.string(), z.array(z.string())]).optional(),
    header: z.string().optional(),
    all: z.boolean().optional(),
    query: z.string().optional(),
    regex: z.string().optional(),
    group: z.number().int().nonnegative().optional(),
    cookie: z.string().optional(),
    status: z.literal(true).optional(),
    body: z.literal(true).optional(),
    optional: z.boolean().optional(),
    default: z.string().optional(),
    scope: z.enum(['client', 'call', 'chat']).optional(),
  }),
]);
export type ExtractRuleSpec = z.infer<typeof extractRuleSchema>;
const extractMap = z.record(fillerName, extractRuleSchema);

const headerExpect = z.union([scalar, z.strictObject({ exists: z.boolean().optional(), equals: z.string().optional(), regex: z.string().optional(), contains: z.string().optional() })]);
export const expectSchema = z.strictObject({
  status: z.union([z.number().int(), z.string(), z.array(z.union([z.number().int(), z.string()]))]).optional(),
  headers: z.record(z.string(), headerExpect).optional(),
  body: matchList.optional(),
});
export type ExpectSpec = z.infer<typeof expectSchema>;

/** One WebSocket frame the network host sends. `json` values are interpolated string by string. */
export const frameSchema = z.strictObject({
  json: z.unknown().optional(),
  text: z.string().optional(),
  template: z.string().optional(),
  delay: duration.optional(),
  ws: z.string().optional(),
});
export type FrameSpec = z.infer<typeof frameSchema>;

/** What the network host does when a request of this step arrives. */
export const serveSchema = z.strictObject({
  response: z.string().optional(),
  template: z.string().optional(),
  status: z.number().int().optional(),
  echo: z.boolean().optional(),
  set: z.record(fillerName, z.string()).optional(),
  capture: extractMap.optional(),
  notify: z.array(frameSchema).optional(),
  'on-open': z.array(frameSchema).optional(),
  match: matchList.optional(),
  reply: z.array(frameSchema).optional(),
  delay: duration.optional(),
});
export type ServeSpec = z.infer<typeof serveSchema>;

const onFailure = z.union([z.enum(['end', 'continue']), z.string().regex(/^goto\s+\S+$/, 'expected "end", "continue" or "goto STEP-ID"')]);

/** Fields every step may carry. */
export const commonStepFields = {
  id: z.string().regex(/^[A-Za-z0-9_.\-]+$/, 'step ids use letters, digits, "_", "-" and "."').optional(),
  label: z.string().optional(),
  'on-failure': onFailure.optional(),
  timeout: duration.optional(),
  vars: z.record(fillerName, z.string()).optional(),
};

export const sendStepSchema = z.strictObject({
  ...commonStepFields,
  send: z.string().optional(),
  template: z.string().optional(),
  bytes: z.string().optional(),
  verbatim: z.boolean().optional(),
  target: z.string().optional(),
  response: z.string().optional(),
  expect: expectSchema.optional(),
  extract: extractMap.optional(),
  serve: serveSchema.optional(),
});

export const wsOpenStepSchema = z.strictObject({
  ...commonStepFields,
  'ws-open': z.string(),
  name: z.string().optional(),
  subprotocol: z.union([z.string(), z.array(z.string())]).optional(),
  headers: z.record(z.string(), z.string()).optional(),
  'answer-conn-check': z.boolean().optional(),
  serve: serveSchema.optional(),
});

export const wsSendStepSchema = z.strictObject({
  ...commonStepFields,
  'ws-send': z.string(),
  json: z.unknown().optional(),
  text: z.string().optional(),
  template: z.string().optional(),
  serve: serveSchema.optional(),
});

export const awaitStepSchema = z.strictObject({
  ...commonStepFields,
  await: z.string(),
  match: matchList.optional(),
  extract: extractMap.optional(),
  unexpected: z.enum(['skip', 'fail']).optional(),
});

export const wsCloseStepSchema = z.strictObject({
  ...commonStepFields,
  'ws-close': z.string(),
  code: z.number().int().optional(),
});

export const pauseStepSchema = z.strictObject({
  ...commonStepFields,
  pause: z.union([duration, z.strictObject({ min: duration, max: duration })]),
});

export const setStepSchema = z.strictObject({
  ...commonStepFields,
  set: z.record(fillerName, z.string()),
  scope: z.enum(['client', 'call', 'chat']).optional(),
});

export const gotoStepSchema = z.strictObject({
  ...commonStepFields,
  goto: z.string(),
});

/** `loop` and `block` hold nested steps; those are validated one by one by the loader. */
export const loopStepSchema = z.strictObject({
  ...commonStepFields,
  loop: z.union([z.number().int().positive(), z.literal('forever')]),
  steps: z.array(z.unknown()),
});

export const blockStepSchema = z.strictObject({
  ...commonStepFields,
  block: z.enum(['call', 'chat']),
  steps: z.array(z.unknown()),
});

export const STEP_KINDS = {
  send: sendStepSchema,
  template: sendStepSchema,
  bytes: sendStepSchema,
  'ws-open': wsOpenStepSchema,
  'ws-send': wsSendStepSchema,
  await: awaitStepSchema,
  'ws-close': wsCloseStepSchema,
  pause: pauseStepSchema,
  set: setStepSchema,
  goto: gotoStepSchema,
  loop: loopStepSchema,
  block: blockStepSchema,
} as const;

export const rangeSchema = z.strictObject({
  start: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]),
  step: z.number().int().optional(),
  prefix: z.string().optional(),
});

export const flowHeaderSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  kind: z.enum(['client', 'hooks']).optional(),
  options: z.strictObject({
    'use-default': z.boolean().optional(),
    lenient: z.boolean().optional(),
    timeout: duration.optional(),
    custom: z.record(z.string(), z.string()).optional(),
    'message-use-default': z.record(z.string(), z.boolean()).optional(),
  }).optional(),
  vars: z.record(fillerName, z.union([z.string(), z.number()])).optional(),
  ranges: z.record(fillerName, rangeSchema).optional(),
  data: z.string().optional(),
  templates: z.record(z.string(), z.string()).optional(),
  serve: z.strictObject({
    'session-key': fillerName.optional(),
    vars: z.record(fillerName, z.union([z.string(), z.number()])).optional(),
  }).optional(),
  steps: z.array(z.unknown()).min(1),
});
export type FlowHeaderSpec = z.infer<typeof flowHeaderSchema>;

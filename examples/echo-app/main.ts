/**
 * Runs EchoApp: `node --import tsx examples/echo-app/main.ts [--port 9091] [--host 127.0.0.1]
 * [--config echo-app.json] [--secret KEY] [--wcs-secret KEY] [--control]`.
 *
 * The config file (JSON) holds `credentials`, `callees` and `refuse` (see echo-app.ts). Prints
 * `listening <url>` once it accepts requests; stops on SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { EchoApp, type EchoAppOptions } from './echo-app.ts';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9091' },
    host: { type: 'string', default: '127.0.0.1' },
    config: { type: 'string' },
    secret: { type: 'string' },
    'wcs-secret': { type: 'string' },
    control: { type: 'boolean', default: false },
  },
});

const fromFile = values.config ? (JSON.parse(readFileSync(values.config, 'utf8')) as EchoAppOptions) : {};
const app = new EchoApp({
  ...fromFile,
  ...(values.secret ? { secret: values.secret } : {}),
  ...(values['wcs-secret'] ? { wcsSecret: values['wcs-secret'] } : {}),
  control: values.control,
});
const url = await app.listen(Number(values.port), values.host);
process.stdout.write(`listening ${url}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

/**
 * `portico gateway [--config FILE]`: runs the gateway. Without a file, the built-in defaults let a
 * newcomer try it on one machine: sylkRTC clients connect to ws://127.0.0.1:10888/webrtcgateway/ws,
 * and the embedded local SIP domain `portico.local` (users alice, bob, carol; password = name)
 * listens on SIP port 5060. `PORTICO_HTTP_PORT`, `PORTICO_SIP_PORT` and `PORTICO_LOG_LEVEL`
 * override the file. SIGINT/SIGTERM shut down gracefully (calls ended, registrations removed); a
 * second signal exits at once.
 */
import type { Command } from 'commander';
import { ConfigError, loadConfig } from '../gateway/config.ts';
import { startGatewayService, type GatewayService } from '../gateway/service.ts';

export interface GatewayCommandOptions {
  config?: string;
  check?: boolean;
}

export function registerGatewayCommand(program: Command): void {
  program
    .command('gateway')
    .description('run the WebRTC-to-SIP gateway (sylkRTC WebSocket API, SIP, /metrics, /healthz)')
    .option('-c, --config <file>', 'YAML or JSON configuration file (see config/portico.example.yaml)')
    .option('--check', 'validate the configuration, print it with defaults applied, and exit')
    .action(async (opts: GatewayCommandOptions) => {
      process.exitCode = await runGateway(opts);
    });
}

/** Runs until a signal; resolves with the process exit code. */
export async function runGateway(opts: GatewayCommandOptions): Promise<number> {
  let config;
  try {
    config = loadConfig(opts.config);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`portico gateway: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts.check) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return 0;
  }
  let service: GatewayService;
  try {
    service = await startGatewayService(config, { source: opts.config ?? 'built-in defaults' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (err instanceof ConfigError) process.stderr.write(`portico gateway: ${err.message}\n`);
    else if (e.code === 'EADDRINUSE' || e.code === 'EACCES') process.stderr.write(`portico gateway: cannot listen: ${e.message}\n`);
    else process.stderr.write(`portico gateway: failed to start: ${e.stack ?? e.message}\n`);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        service.logger.warn({ signal }, 'second signal: exiting now');
        process.exit(130);
      }
      stopping = true;
      service.logger.info({ signal }, 'signal received, shutting down');
      service.close().then(
        () => resolve(0),
        (err: unknown) => {
          service.logger.error({ err }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

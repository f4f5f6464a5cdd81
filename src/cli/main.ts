/**
 * `portico`: the command line. Subcommands live in their own modules; this file only assembles them.
 */
import { Command } from 'commander';
import { registerSipCommands } from './sip-commands.ts';

const program = new Command();
program
  .name('portico')
  .description('Portico: an open WebRTC-to-SIP gateway, its SIP user agent and its flow tester')
  .showHelpAfterError();

registerSipCommands(program);

try {
  const { registerFlowCommands } = await import('../flow/cli.ts');
  registerFlowCommands(program);
} catch (err) {
  if ((err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw err;
}

await program.parseAsync(process.argv);

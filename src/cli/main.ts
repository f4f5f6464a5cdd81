/**
 * `portico`: the command line. Subcommands live in their own modules; this file only assembles them.
 */
import { Command } from 'commander';
import { registerFlowCommands } from '../flow/cli.ts';
import { registerAppCommands } from './app-command.ts';
import { registerGatewayCommand } from './gateway-command.ts';
import { registerSipCommands } from './sip-commands.ts';

const program = new Command();
program
  .name('portico')
  .description('Portico: an open WebRTC-to-SIP gateway, its SIP user agent and its flow tester')
  .showHelpAfterError();

registerGatewayCommand(program);
registerAppCommands(program);

registerSipCommands(program);

registerFlowCommands(program);

await program.parseAsync(process.argv);

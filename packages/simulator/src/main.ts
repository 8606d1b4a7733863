import { simulateCommand, simulateUsage } from './cli.js';

simulateCommand(process.argv.slice(2), (line) => process.stdout.write(`${line}\n`)).then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`plantmesh simulate: ${error.message}\n${simulateUsage}\n`);
    process.exit(2);
  },
);

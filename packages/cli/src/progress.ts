/**
 * Progress of long work on stderr: a bar redrawn in place on a terminal, a line every tenth of the way
 * (and at the end) when stderr is a file or a pipe, so that logs stay readable.
 */
export function progressBar(
  stream: NodeJS.WriteStream = process.stderr,
): (label: string, done: number, total: number) => void {
  let lastTenth = -1;
  let lastLabel = '';
  return (label, done, total) => {
    if (label !== lastLabel) {
      if (stream.isTTY && lastLabel) stream.write('\n');
      lastLabel = label;
      lastTenth = -1;
    }
    const share = total > 0 ? Math.min(1, done / total) : 1;
    const text = `${label}: ${done} of ${total} (${Math.floor(share * 100)}%)`;
    if (stream.isTTY) {
      const width = 30;
      const filled = Math.round(share * width);
      stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}${done >= total ? '\n' : ''}`);
      return;
    }
    const tenth = Math.floor(share * 10);
    if (tenth > lastTenth) {
      lastTenth = tenth;
      stream.write(`${text}\n`);
    }
  };
}

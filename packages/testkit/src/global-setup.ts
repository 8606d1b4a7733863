import { ensureInstalled } from './install.js';

/** Installs the servers once, before any test file starts one. */
export default function setup(): void {
  ensureInstalled('postgres', 'rabbitmq', 'mosquitto');
}

/**
 * How a service's own login reaches it: the variable that carries its password, and a server URL with
 * its login in place of the one the URL has (PostgreSQL and RabbitMQ alike).
 */

/** The variable of a service's password for one server, e.g. AMQP_WRITER_DB_PASSWORD. */
export function passwordVariable(service: string, server: 'DB' | 'AMQP'): string {
  return `${service.toUpperCase().replaceAll('-', '_')}_${server}_PASSWORD`;
}

/** A server URL as another login. */
export function urlWithLogin(url: string, username: string, password: string): string {
  const parsed = new URL(url);
  parsed.username = username;
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}

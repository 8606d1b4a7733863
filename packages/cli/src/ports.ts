/**
 * The local platform's ports, counted from one base so that a second platform (or a test) can run
 * beside the first with `--ports-from`.
 */
export function localPorts(base: number) {
  return {
    postgres: base,
    amqp: base + 1,
    rabbitmqManagement: base + 2,
    rabbitmqPrometheus: base + 3,
    mqttEvents: base + 4,
    mqttSensors: base + 5,
    prometheus: base + 6,
    /** RabbitMQ's Erlang distribution port: in the block, not far above it in the range outgoing connections use. */
    rabbitmqDistribution: base + 7,
    /** The I3X API (plain HTTP on loopback). */
    i3xApi: base + 8,
    /** The data-product catalog's API (plain HTTP on loopback). */
    catalog: base + 9,
    /** The first ops port; each service takes the next one. */
    servicesFrom: base + 10,
  };
}

export type LocalPorts = ReturnType<typeof localPorts>;

import type { MqttClient } from 'mqtt';

interface Held {
  messageId: number;
  settled: boolean;
  puback?: unknown;
}

type SendPacket = (packet: { cmd: string; messageId?: number }, cb?: () => void, ...rest: unknown[]) => void;

/**
 * Acknowledges QoS 1 messages to the broker only once they are safe, while many are in flight.
 *
 * mqtt.js handles incoming messages one at a time and sends the PUBACK when `handleMessage` calls
 * back; waiting there for RabbitMQ's confirm would allow one message per round trip. Instead the
 * reader calls back at once and this class holds the PUBACK that mqtt.js then sends, releasing held
 * PUBACKs in arrival order (MQTT 5 §4.6) as their messages are settled. On a lost connection the held
 * ones are forgotten: the broker redelivers them on the persistent session, and the store ignores the
 * second copy. This hooks mqtt.js's internal `_sendPacket` (mqtt pinned to 5.x; covered by the
 * reader's kill tests).
 */
export class DeferredPubacks {
  private queue: Held[] = [];
  private byId = new Map<number, Held>();
  private readonly send: SendPacket;

  constructor(private readonly client: MqttClient) {
    const internal = client as unknown as { _sendPacket: SendPacket };
    this.send = internal._sendPacket.bind(client);
    internal._sendPacket = (packet, cb, ...rest) => {
      const held =
        packet.cmd === 'puback' && packet.messageId !== undefined ? this.byId.get(packet.messageId) : undefined;
      if (!held) return this.send(packet, cb, ...rest);
      held.puback = packet;
      cb?.(); // lets mqtt.js read the next message now
      this.release();
    };
    client.on('close', () => this.forget());
  }

  /** Messages received and not yet acknowledged to the broker. */
  get size(): number {
    return this.queue.length;
  }

  /**
   * Holds the PUBACK of this message until the returned function is called; never called, it is not
   * acknowledged on this connection and the broker delivers it again later.
   */
  hold(messageId: number): () => void {
    const held: Held = { messageId, settled: false };
    this.queue.push(held);
    this.byId.set(messageId, held);
    return () => {
      held.settled = true;
      this.release();
    };
  }

  private release(): void {
    while (this.queue[0]?.settled && this.queue[0].puback) {
      const held = this.queue.shift() as Held;
      this.byId.delete(held.messageId);
      if (this.client.connected) this.send(held.puback as { cmd: string });
    }
  }

  private forget(): void {
    this.queue = [];
    this.byId.clear();
  }
}

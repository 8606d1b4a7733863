/**
 * The UNECE Recommendation 20 common codes the platform knows, each as a linear function of its
 * quantity's base unit (base = value x factor + offset), so that a definition can convert a payload's
 * unit into the one it stores. A code not listed here is refused in a definition rather than guessed.
 */
export interface UnitCode {
  name: string;
  quantity: string;
  factor: number;
  offset?: number;
}

export const unitCodes: Record<string, UnitCode> = {
  KEL: { name: 'kelvin', quantity: 'temperature', factor: 1 },
  CEL: { name: 'degree Celsius', quantity: 'temperature', factor: 1, offset: 273.15 },
  FAH: { name: 'degree Fahrenheit', quantity: 'temperature', factor: 5 / 9, offset: 459.67 * (5 / 9) },
  MMT: { name: 'millimetre', quantity: 'length', factor: 0.001 },
  CMT: { name: 'centimetre', quantity: 'length', factor: 0.01 },
  MTR: { name: 'metre', quantity: 'length', factor: 1 },
  KMT: { name: 'kilometre', quantity: 'length', factor: 1000 },
  GRM: { name: 'gram', quantity: 'mass', factor: 0.001 },
  KGM: { name: 'kilogram', quantity: 'mass', factor: 1 },
  TNE: { name: 'tonne', quantity: 'mass', factor: 1000 },
  SEC: { name: 'second', quantity: 'time', factor: 1 },
  MIN: { name: 'minute', quantity: 'time', factor: 60 },
  HUR: { name: 'hour', quantity: 'time', factor: 3600 },
  MTS: { name: 'metre per second', quantity: 'speed', factor: 1 },
  '2X': { name: 'metre per minute', quantity: 'speed', factor: 1 / 60 },
  MTQ: { name: 'cubic metre', quantity: 'volume', factor: 1 },
  LTR: { name: 'litre', quantity: 'volume', factor: 0.001 },
  MQS: { name: 'cubic metre per second', quantity: 'volume flow', factor: 1 },
  MQH: { name: 'cubic metre per hour', quantity: 'volume flow', factor: 1 / 3600 },
  PAL: { name: 'pascal', quantity: 'pressure', factor: 1 },
  KPA: { name: 'kilopascal', quantity: 'pressure', factor: 1e3 },
  MPA: { name: 'megapascal', quantity: 'pressure', factor: 1e6 },
  BAR: { name: 'bar', quantity: 'pressure', factor: 1e5 },
  WTT: { name: 'watt', quantity: 'power', factor: 1 },
  KWT: { name: 'kilowatt', quantity: 'power', factor: 1e3 },
  MAW: { name: 'megawatt', quantity: 'power', factor: 1e6 },
  JOU: { name: 'joule', quantity: 'energy', factor: 1 },
  KWH: { name: 'kilowatt hour', quantity: 'energy', factor: 3.6e6 },
  MWH: { name: 'megawatt hour', quantity: 'energy', factor: 3.6e9 },
  GV: { name: 'gigajoule', quantity: 'energy', factor: 1e9 },
  AMP: { name: 'ampere', quantity: 'current', factor: 1 },
  VLT: { name: 'volt', quantity: 'voltage', factor: 1 },
  HTZ: { name: 'hertz', quantity: 'frequency', factor: 1 },
  RPM: { name: 'revolutions per minute', quantity: 'rotational speed', factor: 1 / 60 },
  P1: { name: 'percent', quantity: 'ratio', factor: 0.01 },
  C62: { name: 'one', quantity: 'ratio', factor: 1 },
};

/** A function from a value in `from` to the same value in `to` (units of one quantity). */
export function unitConversion(from: string, to: string): (value: number) => number {
  const source = unitCodes[from];
  const target = unitCodes[to];
  if (!source || !target || source.quantity !== target.quantity) {
    throw new Error(`cannot convert ${from} to ${to}`);
  }
  return (value) => (value * source.factor + (source.offset ?? 0) - (target.offset ?? 0)) / target.factor;
}

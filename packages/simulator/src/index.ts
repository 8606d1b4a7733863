export { parseSimulateArgs, simulateCommand, simulateUsage } from './cli.js';
export { EventGenerator, type MachineState, type PlantEvent } from './events.js';
export { buildMeters, type EnergyMeter, meterReading } from './meters.js';
export { Random } from './random.js';
export { buildSeries, type SensorSeries, sampleValue } from './sensors.js';
export { type MeterReading, Simulator, type SimulatorCounts, type SimulatorOptions } from './simulator.js';

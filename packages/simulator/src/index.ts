export { parseSimulateArgs, simulateCommand, simulateUsage } from './cli.js';
export { EventGenerator, type MachineState, type PlantEvent } from './events.js';
export { Random } from './random.js';
export { buildSeries, type SensorSeries, sampleValue } from './sensors.js';
export { Simulator, type SimulatorCounts, type SimulatorOptions } from './simulator.js';

export { ASSETS_LOADER, type AssetStoreResult, storeAssetModel, storedAssetRules } from './assets.js';
export { importCommand, importUsage } from './command.js';
export {
  type CuratedModelResult,
  curatedModel,
  type ProductDefinition,
  readProductDefinitions,
  syncCuratedProducts,
} from './curated.js';
export { type EquipmentSyncResult, equipmentModel, type SeriesRow, syncEquipment } from './equipment.js';
export { type NodeSetStoreResult, storeNodeSet, storePlatform } from './nodeset.js';
export { loadStoredModel } from './read.js';
export {
  ElementIdConflictError,
  markComposition,
  type StoredObject,
  type StoreModel,
  type StoreOptions,
  type StoreResult,
  storeModel,
  storeModelInTransaction,
} from './write.js';

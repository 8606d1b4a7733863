/**
 * The published NodeSet2 files the tests import (from the node-opcua-nodesets package), each imported
 * once per test file with the models it requires as known models.
 */
import { readFileSync } from 'node:fs';
import { nodesets } from 'node-opcua-nodesets';
import { type ImportResult, type InformationModel, importNodeSet } from '../src/index.js';

export const UA = 'http://opcfoundation.org/UA/';
export const DI = 'http://opcfoundation.org/UA/DI/';
export const IA = 'http://opcfoundation.org/UA/IA/';
export const MACHINERY = 'http://opcfoundation.org/UA/Machinery/';

/** The XML text of a NodeSet shipped by node-opcua-nodesets. */
export function nodesetXml(name: 'standard' | 'di' | 'ia' | 'machinery'): string {
  return readFileSync(nodesets[name], 'utf8');
}

const cache = new Map<string, ImportResult>();

function cached(name: 'standard' | 'di' | 'ia' | 'machinery', known: InformationModel[]): ImportResult {
  let result = cache.get(name);
  if (!result) {
    result = importNodeSet(nodesetXml(name), { known });
    cache.set(name, result);
  }
  return result;
}

export const base = () => cached('standard', []);
export const di = () => cached('di', [base().model]);
export const ia = () => cached('ia', [base().model, di().model]);
export const machinery = () => cached('machinery', [base().model, di().model, ia().model]);

/** The ElementId of node `i=<id>` of a namespace. */
export const id = (namespaceUri: string, numeric: number) => `nsu=${namespaceUri};i=${numeric}`;

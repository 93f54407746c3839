/**
 * The peers: trunks (the PSTN side, who may call in) and PBXs (the agent
 * side, who may call out through a trunk). The router tells them apart by
 * source address alone, so an address belongs to one peer.
 */
import type { PbxConfig, TrunkConfig } from './types.js';
import type { Checker, Path } from './check.js';
import { sipHostUri } from './forms.js';

export function checkTrunks(c: Checker, v: unknown): readonly TrunkConfig[] {
  const owner = new Map<string, string>();
  const names = new Set<string>();
  return c.list(v, ['trunks'], 'trunks ({ name, addresses })').map((entry, i) => {
    const path: Path = ['trunks', i];
    const t = c.mapping(entry, path);
    const name = c.string(t['name'], [...path, 'name']);
    if (name !== '' && names.has(name)) c.fail([...path, 'name'], `'${name}' names another trunk too; trunk names must be unique`);
    names.add(name);
    const addresses = c.list(t['addresses'], [...path, 'addresses'], 'IP address literals').map((a, j) => {
      const address = c.address(a, [...path, 'addresses', j]);
      const other = owner.get(address.toLowerCase());
      // The router finds the trunk by source address: one address, one trunk.
      if (other !== undefined && other !== name) c.fail([...path, 'addresses', j], `${address} is already an address of trunk '${other}'`);
      if (address !== '') owner.set(address.toLowerCase(), name);
      return address;
    });
    const target = t['target'] === undefined ? undefined : sipHostUri(c, t['target'], [...path, 'target']);
    return { name, addresses, ...(target !== undefined ? { target } : {}) };
  });
}

export function checkPbxs(c: Checker, v: unknown, trunks: readonly TrunkConfig[]): readonly PbxConfig[] {
  const trunkOf = new Map<string, string>();
  for (const t of trunks) for (const a of t.addresses) trunkOf.set(a.toLowerCase(), t.name);
  const owner = new Map<string, string>();
  const names = new Set<string>();
  return c.optionalList(v, ['pbxs'], 'PBXs ({ name, addresses, trunk })').map((entry, i) => {
    const path: Path = ['pbxs', i];
    const p = c.mapping(entry, path);
    const name = c.string(p['name'], [...path, 'name']);
    if (name !== '' && names.has(name)) c.fail([...path, 'name'], `'${name}' names another PBX too; PBX names must be unique`);
    names.add(name);
    const addresses = c.list(p['addresses'], [...path, 'addresses'], 'IP address literals').map((a, j) => {
      const address = c.address(a, [...path, 'addresses', j]);
      const key = address.toLowerCase();
      const trunk = trunkOf.get(key);
      const other = owner.get(key);
      // A trunk address here would let the PSTN place outbound calls, or a PBX's calls be taken for inbound ones.
      if (trunk !== undefined) c.fail([...path, 'addresses', j], `${address} is an address of trunk '${trunk}'; a PBX address must be no trunk's`);
      else if (other !== undefined && other !== name) c.fail([...path, 'addresses', j], `${address} is already an address of PBX '${other}'`);
      if (address !== '') owner.set(key, name);
      return address;
    });
    const trunk = c.string(p['trunk'], [...path, 'trunk'], 'the name of the trunk its outbound calls leave by');
    const named = trunks.find((t) => t.name === trunk);
    if (trunk !== '' && !named) c.fail([...path, 'trunk'], `names no trunk; trunks are ${trunks.map((t) => t.name).join(', ')}`);
    else if (named && named.target === undefined) c.fail([...path, 'trunk'], `trunk '${trunk}' has no target: set trunks[${trunks.indexOf(named)}].target to where its outbound calls go`);
    return { name, addresses, trunk };
  });
}

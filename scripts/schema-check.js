#!/usr/bin/env node
/**
 * Breaking-change check of schema.graphql against the previous committed schema (CI).
 *
 *   node scripts/schema-check.js                  # schema.graphql vs the previous commit's
 *   node scripts/schema-check.js --base origin/main
 *   node scripts/schema-check.js --old old.graphql --new schema.graphql
 *
 * The previous schema is `git show <base>:schema.graphql`: base is --base, else $SCHEMA_BASE_REF,
 * else HEAD — or HEAD~1 when the working tree's schema.graphql is the one committed at HEAD (so the
 * last committed change is checked too). Without git, a commit or a schema there, it skips (exit 0).
 *
 * The diff is @graphql-inspector/core's. A BREAKING change (removed field, argument, input field,
 * enum value or type; changed type; new required argument; …) fails the check (exit 1) unless a
 * deprecation was recorded for it in the previous schema: the element — or the field that owns it
 * — carried @deprecated there. A removed type is allowed when every field, argument and input field
 * that used it was deprecated (or removed along with it). DANGEROUS changes are printed only.
 */
'use strict';
const { execFileSync } = require('node:child_process');
const { parseArgs } = require('node:util');
const fs = require('node:fs');
const path = require('node:path');
const { buildSchema, getNamedType, isEnumType, isInputObjectType, isInterfaceType, isObjectType } = require('graphql');
const { diff, CriticalityLevel } = require('@graphql-inspector/core');

const ROOT = path.join(__dirname, '..');
const SCHEMA_FILE = 'schema.graphql';

/** The deprecation reason recorded for a schema coordinate ("Type", "Type.field", "Type.field.arg", "Enum.VALUE"), or null. */
function deprecationAt(schema, coordinate) {
  const [typeName, member, argName] = coordinate.split('.');
  const type = schema.getType(typeName);
  if (!type || member === undefined) return null;
  if (isEnumType(type)) return type.getValue(member)?.deprecationReason ?? null;
  if (isObjectType(type) || isInterfaceType(type) || isInputObjectType(type)) {
    const field = type.getFields()[member];
    if (!field) return null;
    if (argName !== undefined) {
      const arg = field.args?.find((a) => a.name === argName);
      // A deprecated field may lose or change its arguments too.
      return arg?.deprecationReason ?? field.deprecationReason ?? null;
    }
    return field.deprecationReason ?? null;
  }
  return null;
}

/** Every place of the old schema that uses `typeName` (as field type, argument type or input field type). */
function usesOf(schema, typeName) {
  const uses = [];
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__') || type.name === typeName) continue;
    if (!(isObjectType(type) || isInterfaceType(type) || isInputObjectType(type))) continue;
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      if (getNamedType(field.type).name === typeName) uses.push({ coordinate, deprecated: field.deprecationReason != null });
      for (const arg of field.args ?? []) {
        if (getNamedType(arg.type).name === typeName)
          uses.push({
            coordinate: `${coordinate}.${arg.name}`,
            deprecated: arg.deprecationReason != null || field.deprecationReason != null,
          });
      }
    }
  }
  return uses;
}

/**
 * Compares two SDL strings. Returns the changes sorted into
 * { breaking, allowed (breaking but deprecated first), dangerous, safe }.
 */
async function checkSchemas(oldSdl, newSdl) {
  const oldSchema = buildSchema(oldSdl);
  const newSchema = buildSchema(newSdl);
  const changes = await diff(oldSchema, newSchema);
  const removedTypes = new Set(changes.filter((c) => c.type === 'TYPE_REMOVED').map((c) => c.path));
  const result = { breaking: [], allowed: [], dangerous: [], safe: [] };
  for (const change of changes) {
    const level = change.criticality.level;
    const entry = { type: change.type, path: change.path ?? null, message: change.message };
    if (level !== CriticalityLevel.Breaking) {
      (level === CriticalityLevel.Dangerous ? result.dangerous : result.safe).push(entry);
      continue;
    }
    let reason = null;
    if (change.type === 'TYPE_REMOVED' && change.path) {
      const live = usesOf(oldSchema, change.path).filter((u) => !u.deprecated && !removedTypes.has(u.coordinate.split('.')[0]));
      if (live.length === 0) reason = 'only used by deprecated fields';
      else entry.message += ` (still used by ${live.map((u) => u.coordinate).join(', ')} without @deprecated)`;
    } else if (change.path) {
      const deprecation = deprecationAt(oldSchema, change.path);
      if (deprecation != null) reason = `deprecated: ${deprecation}`;
    }
    if (reason) result.allowed.push({ ...entry, deprecation: reason });
    else result.breaking.push(entry);
  }
  return result;
}

function git(args) {
  return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

/** The previous committed schema, or { skip: reason }. */
function previousSchema(current, baseRef) {
  try {
    git(['rev-parse', '--is-inside-work-tree']);
  } catch {
    return { skip: 'not a git checkout (or git is not installed)' };
  }
  const show = (ref) => {
    try {
      return git(['show', `${ref}:${SCHEMA_FILE}`]);
    } catch {
      return null;
    }
  };
  if (baseRef) {
    const sdl = show(baseRef);
    return sdl == null ? { skip: `${baseRef} has no ${SCHEMA_FILE}` } : { sdl, ref: baseRef };
  }
  const head = show('HEAD');
  if (head == null) return { skip: `no commit with ${SCHEMA_FILE} yet` };
  if (head !== current) return { sdl: head, ref: 'HEAD' };
  const before = show('HEAD~1');
  return before == null ? { skip: `no commit before HEAD with ${SCHEMA_FILE}` } : { sdl: before, ref: 'HEAD~1' };
}

/** `[--new FILE] [--old FILE | --base REF]` */
function options(argv) {
  const { values } = parseArgs({
    args: argv,
    options: { new: { type: 'string' }, old: { type: 'string' }, base: { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  return values;
}

async function main(argv = process.argv.slice(2), out = console) {
  const opts = options(argv);
  const newFile = path.resolve(ROOT, opts.new ?? SCHEMA_FILE);
  const current = fs.readFileSync(newFile, 'utf8');
  let old;
  const oldFile = opts.old;
  if (oldFile) old = { sdl: fs.readFileSync(path.resolve(ROOT, oldFile), 'utf8'), ref: oldFile };
  else old = previousSchema(current, opts.base ?? process.env.SCHEMA_BASE_REF);
  if (old.skip) {
    out.log(`schema-check: skipped (${old.skip})`);
    return 0;
  }
  const r = await checkSchemas(old.sdl, current);
  out.log(
    `schema-check: ${path.relative(ROOT, newFile)} against ${old.ref}: ${r.breaking.length} breaking, ${r.allowed.length} deprecated-then-removed, ${r.dangerous.length} dangerous, ${r.safe.length} safe`,
  );
  for (const c of r.allowed) out.log(`  ok (${c.deprecation}): ${c.message}`);
  for (const c of r.dangerous) out.log(`  dangerous: ${c.message}`);
  for (const c of r.breaking) out.error(`  BREAKING ${c.type} ${c.path ?? ''}: ${c.message}`);
  if (r.breaking.length) {
    out.error(
      'schema-check: failed. Deprecate first (@deprecated / deprecationReason), release, and remove or change it in a later commit.',
    );
    return 1;
  }
  return 0;
}

module.exports = { checkSchemas, deprecationAt, main };

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`schema-check: ${e instanceof Error ? e.stack : e}`);
      process.exit(2);
    },
  );
}

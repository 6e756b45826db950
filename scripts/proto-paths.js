// Where the .proto files come from: the project's proto/, Envoy's published protos from
// @grpc/grpc-js-xds (Apache-2.0), and protobuf's well-known types from the protoc package.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const xdsDeps = path.join(path.dirname(require.resolve('@grpc/grpc-js-xds/package.json')), 'deps');

function protoIncludeDirs() {
  return [
    path.join(root, 'proto'),
    path.join(xdsDeps, 'envoy-api'),
    path.join(xdsDeps, 'xds'),
    path.join(xdsDeps, 'googleapis'),
    path.join(xdsDeps, 'protoc-gen-validate'),
    ...optionalDir('protoc/package.json', 'include'),
    // protobufjs bundles descriptor.proto; the fallback when protoc (a dev dependency) is absent.
    ...optionalDir('protobufjs/package.json', '.'),
  ];
}

function optionalDir(pkg, sub) {
  try {
    return [path.join(path.dirname(require.resolve(pkg)), sub)];
  } catch {
    return [];
  }
}

// The published validate.proto predates `ignore_empty`, which Envoy's protos use; protoc refuses
// them without it. Write a patched copy that adds the field and put it first on the include path.
function patchedValidateDir() {
  const dir = path.join(root, 'build', 'proto-patch');
  const src = fs.readFileSync(path.join(xdsDeps, 'protoc-gen-validate', 'validate', 'validate.proto'), 'utf8');
  const add = (text, message, field) =>
    text.replace(new RegExp(`(message ${message} \\{)`), `$1\n    optional bool ignore_empty = ${field};`);
  let patched = src;
  if (!/ignore_empty/.test(patched)) {
    patched = add(patched, 'StringRules', 26);
    patched = add(patched, 'BytesRules', 16);
    patched = add(patched, 'RepeatedRules', 5);
    patched = add(patched, 'MapRules', 6);
  }
  fs.mkdirSync(path.join(dir, 'validate'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'validate', 'validate.proto'), patched);
  return dir;
}

module.exports = { protoIncludeDirs, patchedValidateDir, xdsDeps };

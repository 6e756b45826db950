// The datapath selected at build time. This source selects the stub; scripts/build.js replaces the
// compiled build_variant.js when building with SOCKMAP=enabled (Envoy's --define=sockmap=enabled).
export { loadDatapath, DATAPATH_VARIANT } from './datapath-stub';

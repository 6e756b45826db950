export { protoRoot, lookupType, typeFromUrl, knownMessageNames, ROOT_PROTO_FILES } from './loader';
export { fieldRules, oneofRequired, type Rules, type RuleValue } from './validate_rules';
export { messageToTs, isWrapperType } from './ts_shape';
export { unpackAny, UnknownTypeError } from './any';

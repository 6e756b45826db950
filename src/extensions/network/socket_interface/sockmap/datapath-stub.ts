import type { DatapathLoader } from './datapath_types';

/** The build without libbpf (default `npm run build`): nothing is loaded, every socket stays on TCP/IP. */
export const DATAPATH_VARIANT = 'stub';

export const loadDatapath: DatapathLoader = (options, logger) => {
  if (options.bpfProgramPath) {
    logger.warn(
      `bpf_program_path is set to ${options.bpfProgramPath} but envoy-ts was built without sockmap support ` +
        '(build with SOCKMAP=enabled); every socket uses the standard datapath',
    );
  }
  return undefined;
};

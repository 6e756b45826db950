import { BpfDatapath, DatapathError } from './datapath';
import type { DatapathLoader } from './datapath_types';

/** The libbpf build (SOCKMAP=enabled). */
export const DATAPATH_VARIANT = 'libbpf';

export const loadDatapath: DatapathLoader = (options, logger) => {
  if (!options.bpfProgramPath) {
    logger.info('bpf_program_path is not set; every socket uses the standard datapath');
    return undefined;
  }
  try {
    const datapath = BpfDatapath.open(options, logger);
    logger.info(`sockmap acceleration enabled using ${options.bpfProgramPath}`);
    return datapath;
  } catch (err) {
    const reason = err instanceof DatapathError ? err.message : `unexpected error: ${String(err)}`;
    logger.error(`sockmap acceleration disabled, every socket uses the standard datapath: ${reason}`);
    return undefined;
  }
};

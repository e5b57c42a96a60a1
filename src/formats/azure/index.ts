/** Azure confidential VMs: the paravisor's HCL report, runtime claims, TPM 2.0 structures, evidence documents. */
export * from './base64.ts';
export * from './errors.ts';
export * from './evidence.ts';
export * from './hcl.ts';
export * from './tpm.ts';

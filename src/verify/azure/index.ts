/** Azure confidential VMs (SEV-SNP / TDX behind the paravisor): vTPM evidence and MAA tokens, verified offline. */

export {
  checkMaaClaims,
  type MaaPolicy,
  parseMaaPolicy,
  type VerifyMaaOptions,
  verifyMaaToken,
} from './maa.ts';
export { type AzurePolicy, type PcrBankName, parseAzurePolicy } from './policy.ts';
export { type VerifyAzureOptions, verifyAzureEvidence } from './verify.ts';

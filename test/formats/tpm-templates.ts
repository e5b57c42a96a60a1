/** TPM 2.0 structures the Azure tests build (shared by test/formats, test/tee and the swtpm toolchain test). */
import { TPM_ALG, TpmWriter } from '../../src/formats/index.ts';

/** TPMA_OBJECT of the Azure AK: fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth, noDA, restricted, sign. */
export const AZURE_AK_ATTRIBUTES = 0x00050072;

/**
 * TPMT_PUBLIC of an RSA-2048 restricted signing key, RSASSA SHA-256 (the Azure AK template): with an empty
 * modulus it is the CreatePrimary template, with the key's modulus its public area.
 */
export function rsaAkPublicArea(modulus: Uint8Array = new Uint8Array(0)): Uint8Array {
  return new TpmWriter()
    .u16(TPM_ALG.RSA)
    .u16(TPM_ALG.SHA256)
    .u32(AZURE_AK_ATTRIBUTES)
    .tpm2b(new Uint8Array(0))
    .u16(TPM_ALG.NULL)
    .u16(TPM_ALG.RSASSA)
    .u16(TPM_ALG.SHA256)
    .u16(2048)
    .u32(0)
    .tpm2b(modulus)
    .done();
}

/**
 * xml-crypto and @xmldom/xmldom, loaded through require with the few types used here. Their own
 * declaration files say `/// <reference lib="dom" />`, which would pull the DOM lib into the whole
 * program (and change the WebAssembly and BufferSource types the engine relies on); so they are not
 * imported as TypeScript modules anywhere.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

export interface XmlAttr {
  namespaceURI: string | null;
  name: string;
  localName: string;
  value: string;
}
export interface XmlElement {
  nodeType: number;
  namespaceURI: string | null;
  localName: string;
  getAttribute(n: string): string | null;
  getAttributeNS(ns: string, n: string): string | null;
  getElementsByTagNameNS(ns: string, n: string): ArrayLike<XmlElement>;
  attributes: ArrayLike<XmlAttr>;
  textContent: string | null;
  childNodes: ArrayLike<XmlElement>;
  parentNode: XmlElement | null;
}
export interface XmlDocument {
  documentElement: XmlElement | null;
  getElementsByTagNameNS(ns: string, n: string): ArrayLike<XmlElement>;
}
interface DomParserCtor {
  new (opts?: {
    errorHandler?: {
      warning?: (m: string) => void;
      error?: (m: string) => void;
      fatalError?: (m: string) => void;
    };
  }): { parseFromString(text: string, mime: string): XmlDocument };
}

export interface SignedXmlInstance {
  CanonicalizationAlgorithms: Record<string, unknown>;
  HashAlgorithms: Record<string, unknown>;
  SignatureAlgorithms: Record<string, unknown>;
  loadSignature(node: XmlElement | string): void;
  checkSignature(xml: string): boolean;
  getSignedReferences(): string[];
  addReference(ref: {
    xpath: string;
    isEmptyUri?: boolean;
    digestAlgorithm: string;
    transforms: string[];
  }): void;
  computeSignature(xml: string, opts?: { prefix?: string }): void;
  getSignedXml(): string;
}
interface SignedXmlCtor {
  new (opts: {
    publicCert?: string;
    privateKey?: string;
    canonicalizationAlgorithm?: string;
    signatureAlgorithm?: string;
    getCertFromKeyInfo?: () => string | null;
    getKeyInfoContent?: () => string | null;
  }): SignedXmlInstance;
}
export interface C14nLike {
  process(node: unknown, options: unknown): unknown;
  getAlgorithmName(): string;
}

const xmlCrypto = require('xml-crypto') as {
  SignedXml: SignedXmlCtor;
  C14nCanonicalization: new () => C14nLike;
};
const xmldom = require('@xmldom/xmldom') as { DOMParser: DomParserCtor };

export const SignedXml = xmlCrypto.SignedXml;
export const C14nCanonicalization = xmlCrypto.C14nCanonicalization;
export const DOMParser = xmldom.DOMParser;

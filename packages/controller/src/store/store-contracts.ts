/**
 * Every part of the `Store` contract, registered for one adapter: what each adapter's test file
 * runs (`sqlite.test.ts`, `postgres.test.ts`).
 */
import { describeAccountStoreContract } from './account-store.contract.ts';
import { describeAuthFailuresStoreContract } from './auth-failures.contract.ts';
import { describeAllocationNotesStoreContract } from './allocation-notes.contract.ts';
import { describeBatchReadsStoreContract } from './batch-reads.contract.ts';
import { describeCollationStoreContract } from './collation.contract.ts';
import { describeClusterStoreContract } from './cluster-store.contract.ts';
import { describeEventStoreContract } from './event-store.contract.ts';
import { describeImageStoreContract } from './image-store.contract.ts';
import { describeMachineStoreContract } from './machine-store.contract.ts';
import { describeMetadataStoreContract } from './metadata-store.contract.ts';
import { describeNetworkStoreContract } from './network-store.contract.ts';
import { describeRackStoreContract } from './rack-store.contract.ts';
import { describeRackTrustStoreContract } from './rack-trust.contract.ts';
import type { OpenStore } from './store-contract-fixtures.ts';
import { describeStoreTransactionContract } from './store-transaction.contract.ts';

/** Registers the whole `Store` contract for the adapter `name`, whose fresh stores `open` gives. */
export function describeStoreContracts(name: string, open: OpenStore): void {
  describeMachineStoreContract(name, open);
  describeEventStoreContract(name, open);
  describeAccountStoreContract(name, open);
  describeRackStoreContract(name, open);
  describeNetworkStoreContract(name, open);
  describeImageStoreContract(name, open);
  describeMetadataStoreContract(name, open);
  describeStoreTransactionContract(name, open);
  describeAllocationNotesStoreContract(name, open);
  describeCollationStoreContract(name, open);
  describeBatchReadsStoreContract(name, open);
  describeClusterStoreContract(name, open);
  describeAuthFailuresStoreContract(name, open);
  describeRackTrustStoreContract(name, open);
}

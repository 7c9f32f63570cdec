import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AgentState,
  endedReport,
  failureResult,
  inProgressReport,
  reportPatch,
  startupPatch,
} from '../../../src/hub/agent-reports.js';
import { isHubError } from '../../../src/hub/hub-error.js';
import { parseServiceRequest, sameDelivery, serviceAckPatch } from '../../../src/hub/service-request.js';

describe('deviceUpdate.service mapping (reference/adu-agent.md §6.2-6.4)', () => {
  const service = {
    workflow: { action: 3, id: 'e99c69ca', retryTimestamp: '2026-11-23T12:00:00Z' },
    updateManifest: '{"manifestVersion":"5"}',
    updateManifestSignature: 'a.b.c',
    fileUrls: { f1: 'http://x/f1', bad: 7 },
    rootKeyPackageUrl: 'http://x/rootkeys.json',
  };

  it('parses a process-deployment request, keeping the manifest string byte for byte', () => {
    const r = parseServiceRequest(service);
    assert.deepEqual(r, {
      workflow: { action: 3, id: 'e99c69ca', retryTimestamp: '2026-11-23T12:00:00Z' },
      updateManifest: '{"manifestVersion":"5"}',
      updateManifestSignature: 'a.b.c',
      fileUrls: { f1: 'http://x/f1' },
      rootKeyPackageUrl: 'http://x/rootkeys.json',
    });
  });

  it('parses the service cancel (nulls everywhere)', () => {
    const r = parseServiceRequest({
      workflow: { action: 255, id: 'nodeployment' },
      updateManifest: null,
      updateManifestSignature: null,
      fileUrls: null,
    });
    assert.deepEqual(r, { workflow: { action: 255, id: 'nodeployment' }, fileUrls: {} });
  });

  it('refuses a service without a usable workflow', () => {
    for (const bad of [null, 'x', {}, { workflow: { action: '3', id: 'a' } }, { workflow: { action: 3, id: '' } }]) {
      assert.throws(
        () => parseServiceRequest(bad),
        (e) => isHubError(e, 'HUB_SERVICE_INVALID'),
      );
    }
  });

  it('same delivery = same id and same retry token', () => {
    assert.equal(sameDelivery({ action: 3, id: 'a' }, { action: 3, id: 'a' }), true);
    assert.equal(sameDelivery({ action: 3, id: 'a' }, { action: 3, id: 'a', retryTimestamp: 't' }), false);
    assert.equal(sameDelivery({ action: 3, id: 'a' }, { action: 3, id: 'b' }), false);
  });

  it('ACK: {value, ac, ad, av} with updateManifestSignature and fileUrls nulled', () => {
    assert.deepEqual(serviceAckPatch(service, 17), {
      deviceUpdate: {
        __t: 'c',
        service: { value: { ...service, updateManifestSignature: null, fileUrls: null }, ac: 200, ad: '', av: 17 },
      },
    });
    assert.deepEqual((serviceAckPatch(service, 3, 400, 'bad').deviceUpdate as any).service.ac, 400);
  });

  it('startup message and workflow reports have the ADU shapes', () => {
    assert.deepEqual(
      startupPatch({
        manufacturer: 'm',
        model: 'x',
        additional: { location: 'lab' },
        compatPropertyNames: 'manufacturer,model',
        aduVer: 'DU;sensor-proxy/0.1.0',
      }),
      {
        deviceUpdate: {
          __t: 'c',
          agent: {
            deviceProperties: {
              manufacturer: 'm',
              model: 'x',
              location: 'lab',
              interfaceId: null,
              contractModelId: 'dtmi:azure:iot:deviceUpdateContractModel;3',
              aduVer: 'DU;sensor-proxy/0.1.0',
            },
            compatPropertyNames: 'manufacturer,model',
          },
        },
      },
    );
    assert.deepEqual(reportPatch(inProgressReport({ action: 3, id: 'w', retryTimestamp: 't' })), {
      deviceUpdate: {
        __t: 'c',
        agent: {
          state: 6,
          workflow: { action: 3, id: 'w', retryTimestamp: 't' },
          lastInstallResult: { resultCode: 1, extendedResultCodes: '00000000', resultDetails: '', stepResults: null },
        },
      },
    });
    const failed = endedReport({ action: 3, id: 'w' }, AgentState.Failed, failureResult(0, 0xa0200004, 'signature'));
    assert.deepEqual(failed, {
      state: 255,
      workflow: { action: 3, id: 'w' },
      lastInstallResult: {
        resultCode: 0,
        extendedResultCodes: 'A0200004',
        resultDetails: 'signature',
        stepResults: {},
      },
    });
    assert.equal(failureResult(0, 0, 'x'.repeat(2000)).resultDetails.length, 1024);
  });
});

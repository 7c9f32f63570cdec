/**
 * The `deviceUpdate` PnP component's behaviour (`reference/adu-agent.md` §6, §8): ACK each desired
 * `service`, run one deployment at a time, report 6 then a terminal state, handle cancel,
 * replacement (new id), retry (same id, new `retryTimestamp`) and duplicates (same delivery:
 * nothing new is reported, ADU issues #609/#625), and finish deployments interrupted by a restart.
 * Transport-free: it talks to a {@link HubLink}.
 */
import type { EventSink, WorkflowEvent } from '../model/events.js';
import type { Logger } from '../model/logger.js';
import { Erc, ResultCode } from '../model/result-codes.js';
import { errorMessage } from '../model/errors.js';
import type { RestartRequest } from '../workflow/restart-requests.js';
import {
  AgentState,
  endedReport,
  failureResult,
  inProgressReport,
  reportPatch,
  startupPatch,
  succeededReport,
  type AgentReport,
  type DeviceInfo,
} from './agent-reports.js';
import { AgentStateStore } from './agent-state.js';
import { runDeployment, type DeploymentDeps, type DeploymentEnd } from './deployment.js';
import type { HubLink, LinkSink } from './hub-link.js';
import { Reporter } from './reporter.js';
import {
  AckCode,
  COMPONENT,
  UpdateAction,
  parseServiceRequest,
  sameDelivery,
  serviceAckPatch,
  type ServiceRequest,
  type WorkflowRef,
} from './service-request.js';
import { WorkflowInterrupted } from '../workflow/engine.js';
import { childLog } from '../../drivers/shared/child-log.js';

export interface HubAgentOptions {
  link: HubLink;
  deployment: Omit<DeploymentDeps, 'log' | 'emit'>;
  device: DeviceInfo;
  log: Logger;
  /** Workflow events of every deployment (progress, step results), e.g. for a renderer. */
  emit?: EventSink;
  /** Back-off before re-sending an unsent reported patch, ms. Default 2000. */
  reportRetryMs?: number;
  /**
   * Carries out a reboot or agent-restart request (ADU §8.3). The deployment stays unfinished
   * (nothing more is reported) and resumes from its journal when the agent next starts. Throws
   * when the request cannot be carried out: the deployment then ends as a failure. Without it the
   * request is only logged and the deployment waits for the next start.
   */
  onRestartRequested?: (request: RestartRequest) => Promise<void>;
}

interface Running {
  req: ServiceRequest;
  controller: AbortController;
  /** Set when a newer delivery replaced this run: its end is not reported. */
  superseded: boolean;
  /** Set by {@link HubAgent.stop}: the run stays `running` on disk and resumes at the next start. */
  interrupted: boolean;
}

export class HubAgent implements LinkSink {
  private readonly log: Logger;
  private readonly reporter: Reporter;
  private readonly state: AgentStateStore;
  private current: Running | undefined;
  private next: ServiceRequest | undefined;
  private loop: Promise<void> | undefined;
  private ready = false;
  private early: Array<[Record<string, unknown>, number]> = [];
  private lastAck: string | undefined;
  /** Workflow ids whose terminal report this process has sent (re-deliveries then report nothing). */
  private readonly reported = new Set<string>();
  /** Set once a reboot / agent restart was requested: nothing new starts before it happens. */
  private restartPending: RestartRequest | undefined;

  constructor(private readonly o: HubAgentOptions) {
    this.log = childLog(o.log, { component: 'hub' });
    this.reporter = new Reporter(o.link, this.log, o.reportRetryMs);
    this.state = new AgentStateStore(o.deployment.stateDir);
  }

  /** Loads the persisted state, connects, sends the startup message, then processes the desired twin. */
  async start(signal: AbortSignal): Promise<void> {
    await this.state.load();
    await this.o.link.start(this, signal);
    await this.reporter.send(startupPatch(this.o.device));
    this.ready = true;
    for (const [d, v] of this.early.splice(0)) this.onDesired(d, v);
  }

  /**
   * Interrupts a running deployment without reporting it (it stays unfinished on disk and resumes
   * at the next start, like after a crash), flushes reports, closes the link.
   */
  async stop(): Promise<void> {
    this.next = undefined;
    if (this.current) {
      this.current.interrupted = true;
      this.current.controller.abort(new WorkflowInterrupted('agent stopping'));
    }
    await this.loop;
    await this.reporter.flush();
    this.reporter.close();
    await this.o.link.close();
  }

  /** Resolves when no deployment is running or queued (tests, demo). */
  async idle(): Promise<void> {
    while (this.loop) await this.loop;
    await this.reporter.flush();
  }

  onReconnected(): void {
    this.log.info('hub connection back; flushing reported properties');
    void this.reporter.flush();
  }

  onDesired(desired: Record<string, unknown>, version: number): void {
    if (!this.ready) {
      this.early.push([desired, version]);
      return;
    }
    const du = desired[COMPONENT] as Record<string, unknown> | undefined;
    if (typeof du !== 'object' || du === null || du.service === undefined) return;
    const ackKey = `${version}:${JSON.stringify(du.service)}`;
    let req: ServiceRequest;
    try {
      req = parseServiceRequest(du.service);
    } catch (e) {
      this.log.error({ err: e, version }, 'desired deviceUpdate.service is unusable');
      if (ackKey !== this.lastAck)
        void this.reporter.send(serviceAckPatch(du.service, version, AckCode.BadRequest, (e as Error).message));
      this.lastAck = ackKey;
      return;
    }
    if (ackKey !== this.lastAck) void this.reporter.send(serviceAckPatch(du.service, version));
    this.lastAck = ackKey;
    this.onService(req);
  }

  private onService(req: ServiceRequest): void {
    const wf = req.workflow;
    const log = childLog(this.log, { workflowId: wf.id, action: wf.action });
    if (this.restartPending) {
      // The twin is read again after the restart: this delivery is handled then.
      log.info({ pending: this.restartPending.kind }, 'a reboot/restart is pending; the request is handled after it');
      return;
    }
    if (wf.action === UpdateAction.Cancel) {
      this.next = undefined;
      if (this.current) {
        log.info({ cancelling: this.current.req.workflow.id }, 'cancel requested');
        this.current.controller.abort(new Error('cancelled by the service'));
      } else {
        void this.cancelUnfinished(log);
      }
      return;
    }
    if (this.current && sameDelivery(this.current.req.workflow, wf)) {
      log.debug('deployment already in progress; duplicate delivery ignored');
      return;
    }
    if (this.current) {
      log.info(
        { replacing: this.current.req.workflow.id },
        wf.id === this.current.req.workflow.id ? 'retry requested' : 'replacement deployment',
      );
      this.current.superseded = true;
      this.current.controller.abort(new Error(`replaced by workflow ${wf.id}`));
      this.next = req;
      return;
    }
    const rec = this.state.find(wf.id);
    if (rec?.status === 'finished' && sameDelivery(rec.workflow, wf)) {
      if (!this.reported.has(wf.id) && rec.terminal?.length) {
        // After a restart: make sure the twin holds the terminal report (never state 6 again).
        log.info('finished workflow re-delivered; re-sending its terminal report');
        this.reported.add(wf.id);
        for (const r of rec.terminal) void this.reporter.send(reportPatch(r));
      } else log.debug('finished workflow re-delivered; nothing to report');
      return;
    }
    this.next = req;
    this.loop ??= this.drain().finally(() => {
      this.loop = undefined;
    });
  }

  /** Cancel with nothing running: deliveries a crash left unfinished get a cancelled terminal report. */
  private async cancelUnfinished(log: Logger): Promise<void> {
    const unfinished = this.state.unfinished();
    if (unfinished.length === 0) {
      log.info('cancel received with no operation in progress');
      return;
    }
    for (const d of unfinished) {
      const r = endedReport(
        d.workflow,
        AgentState.Idle,
        failureResult(ResultCode.FailureCancelled, 0, 'cancelled while the agent was not running'),
      );
      await this.finish(d.workflow, [r]);
    }
  }

  private async drain(): Promise<void> {
    while (this.next) {
      const req = this.next;
      this.next = undefined;
      await this.run(req);
    }
  }

  private async run(req: ServiceRequest): Promise<void> {
    const wf = req.workflow;
    const running: Running = { req, controller: new AbortController(), superseded: false, interrupted: false };
    this.current = running;
    const rec = this.state.find(wf.id);
    const resuming = rec?.status === 'running' && sameDelivery(rec.workflow, wf);
    await this.state.started(wf);
    if (resuming) this.log.info({ workflowId: wf.id }, 'resuming a deployment interrupted by an agent restart');
    else await this.reporter.send(reportPatch(inProgressReport(wf)));
    const emit = (e: WorkflowEvent) => this.o.emit?.(e);
    let end: DeploymentEnd;
    try {
      // The root log, not the hub's: the drivers name their own `component` in a deployment's lines.
      end = await runDeployment(req, { ...this.o.deployment, log: this.o.log, emit }, running.controller.signal);
    } finally {
      this.current = undefined;
    }
    if (running.interrupted) {
      this.log.info({ workflowId: wf.id }, 'deployment interrupted by shutdown; it resumes at the next start');
      return;
    }
    if (end.kind === 'ran' && end.outcome.suspended === 'restart-requested' && end.outcome.restartRequested) {
      await this.restart(wf, end.outcome.restartRequested);
      return;
    }
    if (running.superseded) {
      this.log.info({ workflowId: wf.id }, 'deployment superseded; its end is not reported');
      await this.state.finished(wf, []);
      return;
    }
    await this.finish(wf, terminalReports(wf, end));
  }

  /**
   * As the ADU agent after Install/Apply (§8.3): nothing is reported (an Idle without
   * installedUpdateId would count as a failure), the request is carried out, and the deployment
   * ends after the restart, resumed from its journal. A request that cannot be carried out ends
   * the deployment as a failure (ADU reports a failed reboot the same way).
   */
  private async restart(wf: WorkflowRef, request: RestartRequest): Promise<void> {
    this.restartPending = request;
    this.next = undefined;
    await this.reporter.flush();
    const log = childLog(this.log, { workflowId: wf.id });
    if (!this.o.onRestartRequested) {
      log.warn(
        { request },
        `the update needs ${request.kind === 'reboot' ? 'a reboot' : 'an agent restart'}; it finishes after the next start`,
      );
      return;
    }
    try {
      await this.o.onRestartRequested(request);
      log.info({ request }, 'restart under way; the deployment finishes after it');
    } catch (e) {
      this.restartPending = undefined;
      log.error({ err: e, request }, 'the requested restart could not be carried out');
      const r = failureResult(
        ResultCode.Failure,
        Erc.WorkflowRestartFailed,
        `the update asked for ${request.kind === 'reboot' ? 'a reboot' : 'an agent restart'} (${request.resultCode}), which failed: ${errorMessage(e)}`,
      );
      await this.finish(wf, [endedReport(wf, AgentState.Failed, r), endedReport(wf, AgentState.Idle, r)]);
    }
  }

  private async finish(wf: WorkflowRef, reports: AgentReport[]): Promise<void> {
    await this.state.finished(wf, reports);
    this.reported.add(wf.id);
    for (const r of reports) await this.reporter.send(reportPatch(r));
    const last = reports[reports.length - 1];
    this.log.info(
      {
        workflowId: wf.id,
        state: last?.state,
        resultCode: last?.lastInstallResult.resultCode,
        installedUpdateId: last?.installedUpdateId,
      },
      'deployment finished',
    );
  }
}

/** Success → Idle + installedUpdateId; cancel → Idle (-1); failure → Failed then Idle, without installedUpdateId (§4.4). */
export function terminalReports(wf: WorkflowRef, end: DeploymentEnd): AgentReport[] {
  if (end.kind === 'ran') {
    const { outcome } = end;
    if (outcome.succeeded && outcome.installedUpdateId)
      return [succeededReport(wf, outcome.installedUpdateId, outcome.lastInstallResult)];
    if (outcome.cancelled) return [endedReport(wf, AgentState.Idle, outcome.lastInstallResult)];
    return [
      endedReport(wf, AgentState.Failed, outcome.lastInstallResult),
      endedReport(wf, AgentState.Idle, outcome.lastInstallResult),
    ];
  }
  const last = failureResult(
    end.cancelled ? ResultCode.FailureCancelled : end.result.resultCode,
    end.result.extendedResultCode,
    end.result.resultDetails ?? '',
  );
  if (end.cancelled) return [endedReport(wf, AgentState.Idle, last)];
  return [endedReport(wf, AgentState.Failed, last), endedReport(wf, AgentState.Idle, last)];
}

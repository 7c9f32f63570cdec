import type { HandlerEnvironment, HandlerFactory, StepHandler } from '../model/handler.js';
import { SensorProxyError } from '../model/errors.js';

/**
 * Handler registry keyed by ADU handler id (`vendor/name:version`). Built-in handlers are listed
 * in `builtin-handlers.ts`; a device builder adds their own with {@link HandlerRegistry.register}.
 */
export class HandlerRegistry {
  private readonly factories = new Map<string, HandlerFactory>();
  private readonly instances = new Map<string, StepHandler>();

  constructor(private readonly envFor: (id: string) => HandlerEnvironment) {}

  register(id: string, factory: HandlerFactory): this {
    if (!/^\S+\/\S+:\d{1,5}$/.test(id))
      throw new SensorProxyError('CONFIG_INVALID', `handler id "${id}" is not of the form vendor/name:version`);
    this.factories.set(id, factory);
    this.instances.delete(id);
    return this;
  }

  has(id: string): boolean {
    return this.factories.has(id);
  }

  ids(): string[] {
    return [...this.factories.keys()].sort();
  }

  /** The handler for `id`, created once per registry. Throws HANDLER_UNKNOWN naming the known ids. */
  get(id: string): StepHandler {
    let h = this.instances.get(id);
    if (h) return h;
    const factory = this.factories.get(id);
    if (!factory) {
      throw new SensorProxyError('HANDLER_UNKNOWN', `no handler is registered for "${id}"`, {
        details: { handler: id, known: this.ids() },
        hint: `use one of: ${this.ids().join(', ')}`,
      });
    }
    h = factory(this.envFor(id));
    this.instances.set(id, h);
    return h;
  }
}

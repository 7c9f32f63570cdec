import type { Component, ComponentSelector } from '../src/model/component.js';

/**
 * ADU selection semantics (reference/adu-agent.md §1.3): a component matches when EVERY selector
 * key exists on it as a top-level string equal to the value (case-sensitive). Nested `properties`
 * are not matched, as in the Contoso enumerator; unlike it, removal is by filter, so two or more
 * keys cannot drop the wrong neighbour.
 */
export function matchesSelector(component: Component, selector: ComponentSelector): boolean {
  return Object.entries(selector).every(
    ([key, value]) => typeof component[key] === 'string' && component[key] === value,
  );
}

export function selectComponents(components: readonly Component[], selector: ComponentSelector): Component[] {
  return components.filter((c) => matchesSelector(c, selector));
}

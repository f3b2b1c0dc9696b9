// Customer merge on the agent desktop: "Merge with…" on the customer shown in
// the timeline card (search the duplicate, confirm), and the merge entries of
// the timeline with an Undo button when the API says this user may undo
// (supervisors, or the agent who merged within 24 h). Customer text only
// goes in through textContent (common.js `el`), so names stay text.
import { t, el, api, fmtDate } from '/assets/common.js';

const $ = (id) => document.getElementById(id);

/** `text` with each `{key}` replaced by `values[key]` (the result is set as text). */
export function fill(text, values) {
  return Object.entries(values).reduce((s, [k, v]) => s.split(`{${k}}`).join(String(v)), text);
}

/**
 * The timeline entries of a customer's merges: `[{ at, node }]` with `at` in
 * ms since the epoch, so the caller can interleave them with interactions.
 * `reload(customerId, message)` redraws the timeline after an undo.
 */
export async function mergeItems(customerId, act, reload) {
  const merges = await api('GET', `/customers/${encodeURIComponent(customerId)}/merges`);
  return merges.map((m) => {
    const li = el('li', null, 'tl-merge');
    li.dataset.mergeId = m.id;
    const what = fill(t("merge_entry"), { from: m.from, into: m.into });
    li.append(el('span', `${fmtDate(m.merged_at)} · ${what}`, 'tl-head'));
    if (m.undone_at) li.append(el('span', `${t("merge_undone")} ${fmtDate(m.undone_at)}`, 'muted'));
    if (m.can_undo) {
      const b = el('button', t("undo_merge"));
      b.type = 'button';
      b.setAttribute('aria-label', `${t("undo_merge")}: ${what}`);
      b.addEventListener('click', () =>
        act(async () => {
          await api('POST', `/merges/${encodeURIComponent(m.id)}/undo`, {});
          await reload(customerId, t("undo_done"));
        }),
      );
      li.append(b);
    }
    return { at: Date.parse(m.merged_at), node: li };
  });
}

/**
 * Wire the "Merge with…" panel. `current()` is the customer the timeline
 * shows (the survivor); `reload(customerId, message)` redraws it.
 */
export function mountMerge(current, act, reload) {
  const panel = $('merge-panel');
  const open = $('btn-merge-open');
  const confirm = $('merge-confirm');
  const results = $('merge-results');
  let candidate = null;

  const close = () => {
    panel.hidden = true;
    confirm.hidden = true;
    candidate = null;
    results.replaceChildren();
    open.setAttribute('aria-expanded', 'false');
    open.focus();
  };
  open.addEventListener('click', () => {
    if (!panel.hidden) return close();
    panel.hidden = false;
    open.setAttribute('aria-expanded', 'true');
    $('merge-q').value = '';
    $('merge-q').focus();
  });
  $('btn-merge-cancel').addEventListener('click', close);
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') close();
  });
  $('btn-merge-no').addEventListener('click', () => {
    confirm.hidden = true;
    candidate = null;
    $('merge-q').focus();
  });

  $('merge-form').addEventListener('submit', (e) => {
    e.preventDefault();
    act(async () => {
      const into = current();
      if (!into) return;
      const q = $('merge-q').value;
      const found = await api('GET', `/customers?q=${encodeURIComponent(q)}&limit=20`);
      results.replaceChildren();
      confirm.hidden = true;
      for (const c of found.filter((c) => c.id !== into.id)) {
        const b = el('button', `${c.name} — ${(c.phones || []).concat(c.emails || []).join(', ')}`, 'link');
        b.type = 'button';
        b.dataset.customerId = c.id;
        b.addEventListener('click', () => {
          candidate = c;
          $('merge-confirm-text').textContent = fill(t("merge_question"), { from: c.name, into: into.name });
          confirm.hidden = false;
          $('btn-merge-yes').focus();
        });
        const li = el('li');
        li.append(b);
        results.append(li);
      }
      if (!results.children.length) results.append(el('li', t("no_results"), 'muted'));
    });
  });

  $('btn-merge-yes').addEventListener('click', () =>
    act(async () => {
      const into = current();
      if (!into || !candidate) return;
      await api('POST', `/customers/${encodeURIComponent(into.id)}/merge`, { from: candidate.id });
      close();
      await reload(into.id, t("merge_done"));
    }),
  );
}

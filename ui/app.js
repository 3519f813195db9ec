// The web view of vgpu-scheduler: plain JavaScript, no framework. Every
// value from the server is put in the page with textContent (never as
// HTML), so pod names and annotations, which are user input, show as text.
'use strict';

const PAGE = 200;     // nodes per heat-map page
const POLL_MS = 1000; // never more often than once a second
const state = {
    offset : 0,
    node : null,
    timer : null,
    models : '',
    vendors : ''
};

function $(id)
{
    return document.getElementById(id);
}

// el('td', {class: 'x'}, 'text', child...): an element; strings become text nodes.
function el(tag, attrs, ...kids)
{
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
        if (k === 'class')
            e.className = v;
        else if (k === 'title')
            e.title = v;
        else
            e.setAttribute(k, v);
    }
    for (const k of kids) {
        if (k === null || k === undefined)
            continue;
        e.appendChild(typeof k === 'string' || typeof k === 'number'
                          ? document.createTextNode(String(k))
                          : k);
    }
    return e;
}

function clear(e)
{
    while (e.firstChild)
        e.removeChild(e.firstChild);
    return e;
}

async function getJSON(url, opts)
{
    const r = await fetch(url, opts);
    const text = await r.text();
    if (!r.ok)
        throw new Error(text.trim() || ('HTTP ' + r.status));
    return JSON.parse(text);
}

function pct(used, total)
{
    return total > 0 ? Math.round(100 * used / total) : 0;
}

function bar(used, total)
{
    const b = el('span', {class : 'bar'}, el('span'));
    b.firstChild.style.width = Math.min(100, pct(used, total)) + '%';
    return b;
}

// ---- pools ----

function poolRow(label, p, id)
{
    const td = (k, v) => el('td', id ? {id : 't-' + k} : {}, String(v));
    return el(
        'tr', {}, el('td', {}, label), td('nodes', p.nodes), td('gpus', p.gpus),
        el('td', {}, el('span', id ? {id : 't-memUsed'} : {}, String(p.memUsedMiB)), ' / ',
           el('span', id ? {id : 't-mem'} : {}, String(p.memMiB)), bar(p.memUsedMiB, p.memMiB)),
        el('td', {}, String(p.coresUsed), ' / ', String(p.cores)),
        el('td', {}, String(p.slotsUsed), ' / ', String(p.slots)),
        td('allocation', (100 * p.allocation).toFixed(1) + ' %'), td('stranded', p.strandedMiB),
        td('fragment', p.fragmentMilliGpu === null ? '-' : (p.fragmentMilliGpu / 1000).toFixed(2)),
        td('unhealthy', p.unhealthy), td('cordoned', p.cordoned));
}

function fillOptions(select, values, key)
{
    const sig = values.join('\n');
    if (state[key] === sig)
        return;
    state[key] = sig;
    const keep = select.value;
    while (select.options.length > 1)
        select.remove(1);
    for (const v of values)
        select.appendChild(el('option', {value : v}, v));
    select.value = values.includes(keep) ? keep : '';
}

function cellClass(g)
{
    const [mem, devmem, cores, devcore, used, count, flags] = g;
    if (flags & 1)
        return 'cell sick';
    if (flags & 2)
        return 'cell cordoned';
    if (flags & 4)
        return 'cell stranded';
    const fill = Math.max(devmem ? mem / devmem : 0, devcore ? cores / devcore : 0,
                          count ? used / count : 0);
    return 'cell f' + Math.min(10, Math.round(10 * fill));
}

function renderView(v)
{
    const pools = clear($('pools'));
    pools.appendChild(poolRow('all', v.totals, true));
    for (const p of v.pools)
        pools.appendChild(poolRow(p.vendor + ' ' + p.model, p, false));
    $('vendors').textContent =
        'device backends: ' +
        v.vendors.map(x => x.name + ' (' + x.word + '): ' + x.gpus + ' GPUs').join(', ');
    fillOptions($('model'), [...new Set(v.pools.map(p => p.model)) ].sort(), 'models');
    fillOptions($('vendor'), v.vendors.map(x => x.name), 'vendors');
    const heat = clear($('heat'));
    for (const n of v.nodes) {
        const box = el(
            'div', {class : 'node' + (n.name === state.node ? ' sel' : ''), 'data-node' : n.name});
        box.title = n.name;
        for (const g of n.gpus) {
            const p = v.pools[g[7]] || {};
            const c = el('span', {class : cellClass(g)});
            c.title = n.name + ' ' + (p.model || '') + ': ' + g[0] + '/' + g[1] + ' MiB, ' + g[2] +
                      '/' + g[3] + ' % cores, ' + g[4] + '/' + g[5] + ' slots';
            box.appendChild(c);
        }
        box.addEventListener('click',
                             () => { location.hash = 'node=' + encodeURIComponent(n.name); });
        heat.appendChild(box);
    }
    const last = Math.min(v.match, v.offset + v.nodes.length);
    $('page').textContent =
        v.match ? ` nodes ${v.offset + 1}-${last} of ${v.match} ` : ' no node matches ';
    $('prev').disabled = v.offset <= 0;
    $('next').disabled = last >= v.match;
    $('status').textContent = (v.ready ? '' : 'loading the cluster; ') + v.pods + ' pods, ' +
                              v.reservations + ' reservations; updated ' +
                              new Date(v.time * 1000).toLocaleTimeString();
}

async function loadView()
{
    const q = new URLSearchParams({
        offset : state.offset,
        limit : PAGE,
        q : $('q').value,
        label : $('label').value,
        model : $('model').value,
        vendor : $('vendor').value
    });
    renderView(await getJSON('/ui/api/view?' + q));
}

// ---- one node ----

function renderNode(n)
{
    $('node-panel').hidden = false;
    $('node-name').textContent = n.name;
    $('node-facts').textContent =
        'CPU ' + n.cpuUsedMilli + '/' + n.cpuMilli + ' m, memory ' + n.memUsedMiB + '/' + n.memMiB +
        ' MiB' + (n.oversubscribed ? ', oversubscribed' : '') +
        (n.lock ? ', node lock: ' + n.lock : '') +
        (n.fragmentMilliGpu !== null && n.fragmentMilliGpu !== undefined
             ? ', fragmentation (fragment-aware\'s measure): ' +
                   (n.fragmentMilliGpu / 1000).toFixed(2) + ' GPU'
             : '') +
        (n.labels ? '; labels: ' + n.labels.trim().split('\n').join(', ') : '');
    const body = clear($('node-gpus'));
    for (const g of n.gpus) {
        const pods = el('td', {});
        for (const p of g.pods) {
            let s = p.namespace + '/' + p.name + ' (' + p.memMiB + ' MiB, ' + p.cores + ' %' +
                    (p.state !== 'bound' ? ', ' + p.state : '');
            if (p.expiresInSeconds !== undefined)
                s += ', ' + Math.max(0, p.expiresInSeconds).toFixed(0) + ' s left';
            if (p.countedByRequest)
                s += ', counted by request: ' + p.countedByRequest;
            pods.appendChild(el('div', {class : 'pod'}, s + ')'));
        }
        body.appendChild(
            el('tr', {}, el('td', {}, String(g.index), ' ', el('span', {class : 'muted'}, g.uuid)),
               el('td', {}, g.type), el('td', {}, g.vendor), el('td', {}, g.mode),
               el('td', {}, String(g.numa)),
               el('td', {}, g.health ? (g.cordoned ? 'cordoned' : 'healthy') : 'unhealthy'),
               el('td', {}, g.memUsedMiB + ' / ' + g.memMiB, bar(g.memUsedMiB, g.memMiB)),
               el('td', {}, g.coresUsed + ' / ' + g.cores),
               el('td', {}, g.slotsUsed + ' / ' + g.slots), pods));
    }
    const links = clear($('node-links'));
    if (n.links && n.gpus.length) {
        const k = n.gpus.length;
        const t = el('table', {class : 'nums'});
        t.appendChild(
            el('tr', {}, el('th', {}), ...n.gpus.map(g => el('th', {}, String(g.index)))));
        for (let i = 0; i < k; i++)
            t.appendChild(el('tr', {}, el('th', {}, String(n.gpus[i].index)),
                             ...n.links.slice(i * k, i * k + k).map(x => el('td', {}, String(x)))));
        const d =
            el('details', {}, el('summary', {}, 'link scores between GPUs (higher: closer)'), t);
        d.open = !!state.linksOpen; /* kept across refreshes */
        d.addEventListener('toggle', () => { state.linksOpen = d.open; });
        links.appendChild(d);
    }
}

async function loadNode()
{
    if (!state.node) {
        $('node-panel').hidden = true;
        return;
    }
    try {
        renderNode(await getJSON('/ui/api/node?' + new URLSearchParams({name : state.node})));
    } catch (e) {
        $('node-panel').hidden = false;
        $('node-name').textContent = state.node;
        $('node-facts').textContent = String(e.message);
        clear($('node-gpus'));
    }
}

// ---- pending and refused ----

function summary(reasons)
{
    return reasons.map((r, i) => r.nodes + (i ? ': ' : ' nodes: ') + r.word).join(', ');
}

function renderPending(p)
{
    const body = clear($('pending'));
    const pods = p.pods.filter(x => x.fitted === 0);
    $('pending-info').textContent =
        pods.length + ' pods refused at their last filter (of the last ' + p.pods.length +
        ' pods filtered; ' + p.recorded + ' verdicts since start, the newest ' + p.ring + ' kept)';
    for (const x of pods) {
        const ex = el('td', {});
        for (const e of x.examples)
            ex.appendChild(
                el('div', {}, el('span', {}, e.node), ': ', el('span', {class : 'word'}, e.why)));
        body.appendChild(el('tr', {class : 'pending-pod'},
                            el('td', {class : 'pod-name'}, x.namespace + '/' + x.name),
                            el('td', {}, x.agoSeconds.toFixed(0) + ' s ago'),
                            el('td', {}, String(x.offered)),
                            el('td', {class : 'reasons'}, summary(x.reasons)), ex));
    }
}

async function loadPending()
{
    renderPending(await getJSON('/ui/api/pending'));
}

// ---- where would it go ----

function renderSim(r)
{
    const out = clear($('sim-result'));
    out.appendChild(
        el('p', {id : 'sim-node', class : 'chosen'}, r.node ? 'node: ' + r.node : 'no node fits'));
    for (const [k, v] of Object.entries(r.annotations))
        out.appendChild(el('div', {class : 'word'}, k + ': ' + v));
    out.appendChild(el(
        'p', {},
        r.fitted + ' nodes fit' +
            (r.others.length
                 ? '; the others that fit: ' +
                       r.others.map(o => o.node + ' (score ' + o.score.toFixed(2) + ')').join(', ')
                 : '')));
    if (r.failedCount) {
        out.appendChild(el('p', {id : 'sim-reasons'},
                           r.failedCount + ' nodes do not fit: ' + summary(r.reasons)));
        const ul = el('ul', {});
        for (const f of r.failed)
            ul.appendChild(el('li', {}, f.node + ': ', el('span', {class : 'word'}, f.why)));
        out.appendChild(ul);
    }
}

async function simulate()
{
    try {
        renderSim(await getJSON('/ui/api/simulate', {
            method : 'POST',
            body : $('pod').value,
            headers : {'Content-Type' : 'application/json'}
        }));
    } catch (e) {
        clear($('sim-result'))
            .appendChild(el('p', {id : 'sim-node', class : 'error'}, String(e.message)));
    }
}

// ---- the loop ----

function fromHash()
{
    const h = new URLSearchParams(location.hash.slice(1));
    state.node = h.get('node');
    const pod = h.get('pod');
    if (pod !== null && $('pod').value !== pod) {
        $('pod').value = pod;
        simulate();
    }
}

async function refresh()
{
    clearTimeout(state.timer);
    try {
        await Promise.all([ loadView(), loadPending(), loadNode() ]);
    } catch (e) {
        $('status').textContent = 'cannot reach the scheduler: ' + e.message;
    }
    if ($('live').checked)
        state.timer = setTimeout(refresh, POLL_MS);
}

document.addEventListener('DOMContentLoaded', () => {
    $('label').addEventListener('change', () => {
        state.offset = 0;
        refresh();
    });
    $('q').addEventListener('input', () => {
        state.offset = 0;
        refresh();
    });
    $('model').addEventListener('change', () => {
        state.offset = 0;
        refresh();
    });
    $('vendor').addEventListener('change', () => {
        state.offset = 0;
        refresh();
    });
    $('prev').addEventListener('click', () => {
        state.offset = Math.max(0, state.offset - PAGE);
        refresh();
    });
    $('next').addEventListener('click', () => {
        state.offset += PAGE;
        refresh();
    });
    $('live').addEventListener('change', refresh);
    $('simulate').addEventListener('click', simulate);
    window.addEventListener('hashchange', () => {
        fromHash();
        refresh();
    });
    fromHash();
    refresh();
});

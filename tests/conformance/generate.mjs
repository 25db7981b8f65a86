// Builds one Flow.ai reply per template, quick-reply and button type with Flow.ai's own classes
// (npm flowai-js-templates, pinned in package.json) and writes what they serialise to corpus/.
// Run by hand: cd tests/conformance && npm install && node generate.mjs. CI never runs node.
import { createRequire } from 'node:module'
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// Bump when the set of cases or the file layout changes, so a stale corpus can be told apart.
const GENERATOR_VERSION = 1

const here = dirname(fileURLToPath(import.meta.url))
const require = createRequire(import.meta.url)

// Buttons and webviews without an id get `b` + nanoid(8), random on every run. The classes read
// nanoid's export at call time, so a counter with the same length and alphabet keeps the corpus stable.
const nanoid = require('nanoid')
let autoIds = 0
nanoid.nanoid = (size) => `AUTO${String(++autoIds).padStart(size - 4, '0')}`

const T = require('flowai-js-templates')
const { version: packageVersion } = JSON.parse(
  readFileSync(join(here, 'node_modules', 'flowai-js-templates', 'package.json'), 'utf8'),
)

const SuggestedAction = require('flowai-js-templates/lib/rbm/components/suggestedAction').default
const ExpirationTime = require('flowai-js-templates/lib/rbm/components/expirationTime').default

const cases = {}

/** Records one case: `build` returns a Message, serialised exactly as JSON.stringify does with toJSON. */
function add(file, meta, build) {
  cases[file] = { ...meta, json: JSON.parse(JSON.stringify(build())) }
}

const action = () => new T.Action({ type: 'event', value: 'ORDER', param: [new T.Param('productId', '42')] })
const params = () => [new T.Param('shopId', '7'), new T.Param('shopId', '8'), new T.Param('sku', 'A1')]
/** A Message holding `responses`; `meta` (free-form) is an optional field like any other. */
const message = (variant, ...responses) => {
  const m = new T.Message('fallback speech', variant === 'full' ? { source: 'conformance' } : undefined)
  responses.forEach((r) => m.addResponse(r))
  return m
}
/** Sets the optional fields every generic template shares: delay, fallback, a quick reply. */
const decorate = (template) => {
  template.delay = 1500
  template.fallback = 'template fallback'
  if (typeof template.addQuickReply === 'function') {
    template.addQuickReply(new T.QuickReply({ label: 'More', value: 'more', params: params(), tags: params() }))
  }
  return template
}

// --- messages without templates: the class adds text responses itself
add('message-fallback-only.json', { kind: 'message', variant: 'minimal' }, () => new T.Message('Hi there'))
add('message-fallback-list.json', { kind: 'message', variant: 'minimal' }, () => new T.Message(['Hi.', 'How can I help?']))

// --- every generic template, with all optional fields and with none
const templates = {
  text: {
    full: () => {
      const t = decorate(new T.Text('Want a free soda?'))
      t.addExpirationTime(new ExpirationTime({ type: 'ttl', ttl: '30s', expireSuccessTriggerType: 'event', expireSuccessTriggerValue: 'OK', expireFailTriggerType: 'flow', expireFailTriggerValue: 'Retry' }))
      return t
    },
    minimal: () => new T.Text('Hi'),
  },
  image: {
    full: () => decorate(new T.Image({ title: 'Pretty picture', url: 'https://example.com/p.png', action: action() })),
    minimal: () => new T.Image({ title: 'Pretty picture', url: 'https://example.com/p.png' }),
  },
  video: {
    full: () => decorate(new T.Video({ title: 'Clip', url: 'https://example.com/v.mp4', action: action(), thumbnailUrl: 'https://example.com/v.png' })),
    minimal: () => new T.Video({ title: 'Clip', url: 'https://example.com/v.mp4' }),
  },
  audio: {
    full: () => decorate(new T.Audio({ title: 'Song', url: 'https://example.com/a.mp3', action: action(), duration: 184 })),
    minimal: () => new T.Audio({ title: 'Song', url: 'https://example.com/a.mp3' }),
  },
  file: {
    full: () => decorate(new T.File({ title: 'Invoice', url: 'https://example.com/f.pdf', action: action() })),
    minimal: () => new T.File({ url: 'https://example.com/f.pdf' }),
  },
  location: {
    full: () => decorate(new T.Location({ title: 'Infinite Loop 1', lat: '37.331860', long: '-122.030248', action: action() })),
    minimal: () => new T.Location({ title: 'Dam square', lat: 52.373, long: 4.893 }),
  },
  card: {
    full: () => decorate(fullCard()),
    minimal: () => new T.Card({ title: 'Weather report' }),
  },
  buttons: {
    full: () => decorate(new T.Buttons('Vintage bikes').addButton(new T.Button({ type: 'postback', label: 'Offers', value: 'offers', id: 'b1' }))),
    minimal: () => new T.Buttons('Vintage bikes'),
  },
  carousel: {
    full: () => decorate(new T.Carousel([fullCard(), new T.Card({ title: 'Second' })])),
    minimal: () => new T.Carousel([new T.Card({ title: 'Only' })]),
  },
  list: {
    full: () => {
      const list = decorate(new T.List())
      list.addItem(new T.ListItem({ title: 'Plain' }))
      list.addItem(fullListItem())
      list.addButton(new T.Button({ type: 'url', label: 'All TVs', value: 'https://example.com/tv', newTab: true, id: 'b2' }))
      return list
    },
    minimal: () => new T.List().addItem(new T.ListItem({ title: '40" LED TV' })),
  },
  custom: {
    full: () => decorate(new T.Custom({ title: 'Big screen TV', catId: 35633123322, prices: { EURO: 1800, DOLLAR: '2400' } })),
    minimal: () => new T.Custom({}),
  },
  note: {
    full: () => decorate(new T.Note('Customer asked for a refund')),
    minimal: () => new T.Note({ note: 'Refund' }),
  },
  handover: {
    full: () => new T.Handover({ resetContext: true, indefinitePause: false, minutesToPause: 5, secondsToPause: 30, setBotToPause: true, additionalInfo: 'VIP customer' }),
    minimal: () => new T.Handover({ resetContext: false, indefinitePause: true, setBotToPause: false }),
  },
  webview: {
    full: () => new T.Webview({ label: 'Open shop', url: 'https://example.com/shop', id: 'w1', trigger: new T.ButtonTrigger({ type: 'event', value: 'SHOP_OPENED' }) }),
    minimal: () => new T.Webview({ label: 'Open shop', url: 'https://example.com/shop' }),
  },
}

function fullCard() {
  return new T.Card({
    title: 'Weather report',
    subtitle: 'Cloudy, max 20 degrees',
    media: new T.Media({ url: 'https://example.com/today.mp4', type: 'video', thumbnailUrl: 'https://example.com/today.png' }),
    action: action(),
  }).addButton(new T.Button({ type: 'url', label: 'Forecast', value: 'https://example.com/forecast' }))
}

function fullListItem() {
  return new T.ListItem({
    title: '50" LED TV',
    subtitle: 'Big and bold',
    media: new T.Media({ url: 'https://example.com/tv.png', type: 'image' }),
    action: action(),
    featured: true,
  }).addButton(new T.Button({ type: 'postback', label: 'Buy', value: 'buy 50', id: 'b3' }))
}

for (const [type, variants] of Object.entries(templates)) {
  for (const [variant, build] of Object.entries(variants)) {
    add(`template-${type}-${variant}.json`, { kind: 'template', type, variant }, () => message(variant, build()))
  }
}

// --- every quick-reply type on a text: all optional fields, and only what the type needs
// `postback` is not in the class's own list of types, but its own tests build quick replies of it.
const quickReplyTypes = ['text', 'location', 'user_email', 'user_phone_number', 'event', 'flow', 'step', 'postback']
for (const type of quickReplyTypes) {
  add(`quickreply-${type}-full.json`, { kind: 'quickReply', type, variant: 'full' }, () =>
    message('full', new T.Text('Pick one').addQuickReply(new T.QuickReply({
      label: 'Yes', type, value: 'YES', params: params(), tags: [new T.Param('colour', 'red')], auto: true, stepId: 'step-1', quickReplyId: 'qr-1',
    }))))
  add(`quickreply-${type}-minimal.json`, { kind: 'quickReply', type, variant: 'minimal' }, () =>
    message('minimal', new T.Text('Pick one').addQuickReply(new T.QuickReply(type === 'text' ? { label: 'Yes', type } : { type }))))
}
// A quick reply without a type becomes text; Message.addQuickReply puts it on the last response.
add('quickreply-untyped-via-message.json', { kind: 'quickReply', type: 'text', variant: 'minimal' }, () =>
  new T.Message('Want a cold beverage?').addQuickReply(new T.QuickReply({ label: 'No' })))
// RBM suggested actions go into a generic template's quickReplies with their own types.
add('quickreply-rbm-suggested-action.json', { kind: 'quickReply', type: 'calendar_action', variant: 'full' }, () =>
  new T.Message('Party tonight').addSuggestedAction(new SuggestedAction({
    label: 'Add to calendar', type: 'calendar_action', title: 'Party', description: 'Tonight', startTime: '2023-04-27T23:30', endTime: '2023-04-28T04:30', timezone: '(UTC+01:00) Amsterdam',
  })))

// --- every button type on a buttons template (a trigger is allowed only on url and phone buttons)
const buttonTypes = ['url', 'phone', 'postback', 'share', 'login', 'webview', 'event', 'flow', 'step']
for (const type of buttonTypes) {
  const trigger = type === 'url' || type === 'phone' ? new T.ButtonTrigger({ type: 'flow', value: 'After click' }) : undefined
  add(`button-${type}-full.json`, { kind: 'button', type, variant: 'full' }, () =>
    message('full', new T.Buttons('Choose').addButton(new T.Button({
      type, label: 'Go', value: 'VALUE', newTab: true, params: params(), id: `b-${type}`, trigger,
    }))))
  add(`button-${type}-minimal.json`, { kind: 'button', type, variant: 'minimal' }, () =>
    message('minimal', new T.Buttons('Choose').addButton(new T.Button({ type, label: 'Go', value: 'VALUE' }))))
}

// --- channel templates: types the schemas do not know must pass with any payload object
add('channel-phone.json', { kind: 'channel', type: 'phone_*', variant: 'full' }, () =>
  message('full', new T.Phone.Say({ speech: 'The time is noon' }), new T.Phone.Pause(2), new T.Phone.Hangup()))

const corpus = join(here, 'corpus')
mkdirSync(corpus, { recursive: true })
for (const old of readdirSync(corpus).filter((f) => f.endsWith('.json'))) rmSync(join(corpus, old))
const manifest = { generator: 'generate.mjs', generatorVersion: GENERATOR_VERSION, package: 'flowai-js-templates', packageVersion, cases: {} }
for (const [file, { json, ...meta }] of Object.entries(cases).sort(([a], [b]) => a.localeCompare(b))) {
  writeFileSync(join(corpus, file), JSON.stringify(json, null, 2) + '\n')
  manifest.cases[file] = meta
}
writeFileSync(join(here, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n')
console.log(`wrote ${Object.keys(cases).length} files for flowai-js-templates ${packageVersion}`)

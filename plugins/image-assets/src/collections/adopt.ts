import type { CollectionConfig, Field, TextFieldSingleValidation } from 'payload'

import { ImageAssetsConfigError } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { requireAltValidate } from '../upload/alt.js'

/**
 * Adopting an upload collection the app already has (the blank template's `media`, or any slug
 * named in `collections`): the app's collection gets the plugin's pipeline and keeps what is its
 * own.
 *
 * Kept from the app: its fields (its `alt` replaces the plugin's), hooks, access, admin settings,
 * labels, endpoints, versions, timestamps and every other collection setting, and the upload
 * settings the pipeline does not decide (`adminThumbnail`, `displayPreview`, ...).
 * Owned by the plugin: the fields it stores the image in, the upload endpoints, the accepted MIME
 * types (from `allowedExtensions`), the file route handler, and crop / focal point (on: the
 * plugin applies them itself) / paste-URL (off).
 * Hook order: the app's `before*` hooks run before the plugin's (the plugin's are the last step
 * before the write), the plugin's `after*` hooks before the app's (the app sees the final
 * document). Access: the plugin's defaults, then the app's own, then the plugin option `access`.
 * Refused (it cannot be merged): a collection that is not an upload collection, Payload's own
 * image processing (`imageSizes`, `resizeOptions`, `formatOptions`, `trimOptions`: the plugin's
 * `width`/`height`/`quality`/`variants` replace them), and a field named like one the plugin owns.
 */

const PROCESSING_KEYS = ['imageSizes', 'resizeOptions', 'formatOptions', 'trimOptions'] as const

/** Names of the fields that hold data, through rows, collapsibles and unnamed tabs. */
const dataFieldNames = (fields: readonly Field[]): string[] =>
  fields.flatMap((field) => {
    if ('name' in field && field.name) return [field.name]
    if (field.type === 'tabs')
      return field.tabs.flatMap((tab) =>
        'name' in tab && tab.name ? [tab.name] : dataFieldNames(tab.fields),
      )
    return 'fields' in field ? dataFieldNames(field.fields) : []
  })

const refuse = (slug: string, problem: string, fix: string): never => {
  throw new ImageAssetsConfigError(
    `the collection "${slug}" in your config ${problem}, so the plugin cannot give it its image pipeline. ${fix} Or switch the plugin's off for it with collections: { "${slug}": false }.`,
  )
}

/** The plugin's settings for an app collection, before the collection is built: its labels. */
export const adoptedSettings = (
  app: CollectionConfig,
  resolved: ResolvedCollection,
): ResolvedCollection => {
  const labels = app.labels
  const plain =
    labels && typeof labels.plural === 'string' && typeof labels.singular === 'string'
      ? { plural: labels.plural, singular: labels.singular }
      : undefined
  const upload = typeof app.upload === 'object' ? app.upload : {}
  return {
    ...resolved,
    adoptedFrom: { staticDir: upload.staticDir ?? app.slug },
    ...(plain ? { label: plain.plural, labels: plain } : {}),
  }
}

/**
 * The app's own `filename` field (it replaces the plugin's) keeps the plugin's list cell (the
 * original name in place of the key) unless it has a cell of its own.
 */
const withFileCell = (field: Field, ours: CollectionConfig): Field => {
  if (!('name' in field) || field.name !== 'filename' || field.type !== 'text') return field
  const own = ours.fields.find((f) => 'name' in f && f.name === 'filename')
  const cell = own?.admin?.components && 'Cell' in own.admin.components && own.admin.components.Cell
  if (!cell || field.admin?.components?.Cell) return field
  return {
    ...field,
    admin: { ...field.admin, components: { ...field.admin?.components, Cell: cell } },
  }
}

/** The app's collection with the plugin's pipeline; see the module comment for what wins. */
export const adoptCollection = (
  app: CollectionConfig,
  ours: CollectionConfig,
  resolved: ResolvedCollection,
): CollectionConfig => {
  const { slug } = app
  if (!app.upload) {
    refuse(slug, 'is not an upload collection', 'Add `upload: true` to it, or use another slug.')
  }
  const upload = typeof app.upload === 'object' ? app.upload : {}
  const processing = PROCESSING_KEYS.filter((key) => {
    const value = upload[key]
    return Array.isArray(value) ? value.length > 0 : value !== undefined
  })
  if (processing.length > 0) {
    refuse(
      slug,
      `sets Payload's own image processing (upload.${processing.join(', upload.')})`,
      `Remove it: the plugin's options collections["${slug}"].width, height, quality and variants decide the sizes.`,
    )
  }
  // `alt` and Payload's own `filename` may be the app's: its field then replaces the plugin's.
  const shared = ['alt', 'filename']
  const ownFields = dataFieldNames(ours.fields).filter((name) => !shared.includes(name))
  const clash = dataFieldNames(app.fields).find((name) => ownFields.includes(name))
  if (clash) {
    refuse(
      slug,
      `has a field "${clash}", a name the plugin stores the image's data in`,
      'Rename that field.',
    )
  }
  const appFieldNames = dataFieldNames(app.fields)
  const ownAlt = app.fields.find((f) => 'name' in f && f.name === 'alt')
  // `requireAlt` applies to the app's own alt text field too.
  const appAlt: Field | undefined =
    ownAlt &&
    resolved.requireAlt &&
    (ownAlt.type === 'textarea' || (ownAlt.type === 'text' && !ownAlt.hasMany))
      ? ({
          ...ownAlt,
          validate: requireAltValidate(
            resolved,
            ownAlt.validate as TextFieldSingleValidation | undefined,
          ),
        } as Field)
      : ownAlt
  const fields = [
    ...ours.fields.flatMap((f) =>
      'name' in f && f.name === 'filename' && appFieldNames.includes('filename')
        ? []
        : 'name' in f && f.name === 'alt'
          ? appAlt
            ? [appAlt]
            : appFieldNames.includes('alt')
              ? []
              : [f]
          : [f],
    ),
    ...app.fields.filter((f) => f !== ownAlt).map((f) => withFileCell(f, ours)),
  ]
  const hookNames = new Set([...Object.keys(ours.hooks ?? {}), ...Object.keys(app.hooks ?? {})])
  const hooks = Object.fromEntries(
    [...hookNames].map((name) => {
      const own = (ours.hooks as Record<string, unknown[] | undefined>)[name] ?? []
      const theirs = (app.hooks as Record<string, unknown[] | undefined> | undefined)?.[name] ?? []
      return [name, name.startsWith('before') ? [...theirs, ...own] : [...own, ...theirs]]
    }),
  )
  return {
    ...app,
    access: { ...ours.access, ...app.access, ...resolved.access },
    admin: { ...ours.admin, ...app.admin },
    custom: { ...app.custom, ...ours.custom },
    disableDuplicate: true,
    endpoints: [...(ours.endpoints || []), ...(app.endpoints || [])],
    fields,
    hooks,
    labels: app.labels ?? ours.labels,
    upload: { ...upload, ...(typeof ours.upload === 'object' ? ours.upload : {}) },
  }
}

import type { Block, Config, Field } from 'payload'

/** The client component that shows images in upload fields by their original names. */
const IMAGE_UPLOAD_FIELD = 'payload-image-assets/client#ImageUploadField'

/**
 * The upload fields that point at one of the image collections (a product's `image`), anywhere in
 * a collection, a global or a block, through groups, arrays, rows, collapsibles and tabs, get
 * `ImageUploadField` (Payload's own field, showing each image's original name instead of its
 * stored key). A field with a `Field` component of its own keeps it. Not reached: upload nodes
 * and blocks inside a Lexical editor's features, and fields added by plugins that run after this
 * one.
 */
export const withImageUploadFields = (config: Config, imageSlugs: readonly string[]): Config => {
  const images = new Set(imageSlugs)
  const component = { clientProps: { imageSlugs: [...imageSlugs] }, path: IMAGE_UPLOAD_FIELD }

  const field = (f: Field): Field => {
    if (f.type === 'upload') {
      const targets = Array.isArray(f.relationTo) ? f.relationTo : [f.relationTo]
      if (!targets.some((slug) => images.has(slug)) || f.admin?.components?.Field) return f
      return {
        ...f,
        admin: { ...f.admin, components: { ...f.admin?.components, Field: component } },
      } as Field
    }
    if (f.type === 'tabs')
      return { ...f, tabs: f.tabs.map((tab) => ({ ...tab, fields: fields(tab.fields) })) }
    if (f.type === 'blocks')
      return {
        ...f,
        ...(f.blocks ? { blocks: f.blocks.map(block) } : {}),
        // Blocks given inline among the references; a slug refers to `config.blocks`.
        ...(f.blockReferences
          ? {
              blockReferences: f.blockReferences.map((b) => (typeof b === 'string' ? b : block(b))),
            }
          : {}),
      }
    if ('fields' in f && Array.isArray(f.fields)) return { ...f, fields: fields(f.fields) } as Field
    return f
  }
  const fields = (list: Field[]): Field[] => list.map(field)
  const block = (b: Block): Block => ({ ...b, fields: fields(b.fields) })

  return {
    ...config,
    ...(config.blocks ? { blocks: config.blocks.map(block) } : {}),
    ...(config.collections
      ? { collections: config.collections.map((c) => ({ ...c, fields: fields(c.fields) })) }
      : {}),
    ...(config.globals
      ? { globals: config.globals.map((g) => ({ ...g, fields: fields(g.fields) })) }
      : {}),
  }
}

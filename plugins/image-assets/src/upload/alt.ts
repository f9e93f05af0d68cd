import type { TextFieldSingleValidation } from 'payload'

import { messages } from '../errors.js'
import type { ResolvedCollection } from '../options.js'
import { isInternalWrite } from './session.js'

/** Characters that show nothing: white space, format characters (zero-width space and joiners, bidi marks), fillers. */
const INVISIBLE = /[\p{White_Space}\p{Cf}\p{Cc}\u115F\u1160\u2800\u3164\uFFA0]/gu

/** No alt text: nothing, or only characters that show nothing. */
export const isBlank = (value: unknown): boolean =>
  value === undefined ||
  value === null ||
  (typeof value === 'string' && value.replace(INVISIBLE, '') === '')

/**
 * `requireAlt`: the `alt` field's validation, run by Payload for every create and update (admin,
 * REST, GraphQL, Local API), with the message shown on the field. The plugin's own writes to an
 * existing document (AVIF versions, re-optimize) are not an editor's and are let through, so that
 * documents saved before the option was switched on keep working. `base` is the field's own
 * validation (an adopted collection's `alt`), run when alt text is present.
 */
export const requireAltValidate =
  (collection: ResolvedCollection, base?: TextFieldSingleValidation): TextFieldSingleValidation =>
  (value, options) => {
    if (isInternalWrite(options.req.context)) return true
    if (isBlank(value)) return messages.altRequired({ label: collection.label })
    return base ? base(value, options) : true
  }

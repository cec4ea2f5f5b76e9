import Type, { type TSchema, type TSchemaOptions } from 'typebox';

/** Building blocks the other schemas share. */

/** `schema` or null; `options` (a description, say) describe the whole member, not one branch. */
export const Nullable = <T extends TSchema>(schema: T, options?: TSchemaOptions) => Type.Union([schema, Type.Null()], options);

export const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
/** The same, for code that checks a value before it goes into a Graph path. */
export const GUID = new RegExp(GUID_PATTERN);

export const Guid = Type.String({ pattern: GUID_PATTERN, description: 'A GUID', examples: ['6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'] });

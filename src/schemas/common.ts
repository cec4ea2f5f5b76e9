import Type, { type TSchema } from 'typebox';

/** Building blocks the other schemas share. */

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const GUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

export const Guid = Type.String({ pattern: GUID_PATTERN, description: 'A GUID', examples: ['6d2e5c8f-3b1a-4f6e-9c2d-1a2b3c4d5e6f'] });

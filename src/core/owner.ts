/**
 * Every device, eventfd and host vector belongs to an owner: the name of the tenant that created
 * it. With authentication off there is one tenant and everything belongs to it. The schema's
 * column default (migrations/003_tenants.sql) is the same name, so rows written before tenants
 * existed belong to it too.
 */
export const DEFAULT_OWNER = 'default'

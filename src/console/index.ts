/** The gateway's web UI: the demo web phone served at the root URL. */
export { DemoPage, buildPhoneScript } from './demo-page.ts';
export type { DemoPageOptions } from './demo-page.ts';

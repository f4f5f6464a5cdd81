export { FlowResponder, serveFlow, type ResponderOptions, type ResponderStats } from './flow-responder.ts';
export { routeFromTemplate, matchRoute, type RoutePattern } from './route-pattern.ts';

#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx, so `npm install` is all a newcomer needs.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

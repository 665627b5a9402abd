// Loaded first, on its own: starts the overview's request while the app's modules still load.
import './api.js';

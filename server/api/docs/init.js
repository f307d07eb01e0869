// SPDX-License-Identifier: Apache-2.0
// Starts Swagger UI on the spec this server serves. Kept out of index.html so the page can run
// under a Content-Security-Policy without 'unsafe-inline' scripts.
window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    validatorUrl: null,
    persistAuthorization: false,
  });
};

"""Dev-only tools: the model generators, the op audit and the test client of a sidecar process. Tests and scripts/
import them; the npm package and the Docker image do not ship them, and glm_sidecar never imports them."""

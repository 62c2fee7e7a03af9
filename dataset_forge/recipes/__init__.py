"""Recipes: several actions in order from one TOML file, resumable (`dataset-forge run`)."""
from .recipe import Recipe, RecipeError, Step, load_recipe, parse_assignments, read_recipe_header
from .run import RecipeResult, StepResult, plan, run_recipe

__all__ = ["Recipe", "RecipeError", "Step", "load_recipe", "parse_assignments",
           "read_recipe_header", "RecipeResult", "StepResult", "plan", "run_recipe"]
